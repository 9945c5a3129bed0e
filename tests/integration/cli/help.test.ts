// `odsora <command> --help` as a newcomer reads it, from the BUILT command line: every command (found by walking
// the help's own command lists, so a new command is covered without editing this test) shows examples whose flags
// are its own, and marks the options it cannot run without.
import { beforeAll, describe, expect, it } from 'vitest';
import { knobCli } from '../../../shared/engine/techniques/cli';
import { everyKnob } from '../../../shared/engine/techniques/knobs';
import { ensureCliBuilt, runOdsora } from '../../helpers/odsora-cli';

const helps = new Map<string, string>();

/** `odsora <path> --help` (run once per command). */
function help(path: readonly string[]): string {
  const key = path.join(' ');
  const known = helps.get(key);
  if (known !== undefined) return known;
  const r = runOdsora([...path, '--help']);
  expect(r.status, `odsora ${key} --help: ${r.stderr}`).toBe(0);
  helps.set(key, r.stdout);
  return r.stdout;
}

/** The names listed under "Commands:" (without `help`). */
function subcommands(text: string): string[] {
  const section = text.split(/\nCommands:\n/)[1]?.split(/\n\n/)[0] ?? '';
  return [...section.matchAll(/^ {2}([a-z][a-z0-9-]*)/gm)].map((m) => m[1]!).filter((n) => n !== 'help');
}

/** The long flags listed under "Options:" (`--no-prefetch` also allows `--prefetch`'s negation only). */
function optionFlags(text: string): Set<string> {
  const section = text.split(/\nOptions:\n/)[1]?.split(/\n\n/)[0] ?? '';
  return new Set([...section.matchAll(/^ {2}(?:-\w, )?(--[a-z0-9-]+)/gm)].map((m) => m[1]!));
}

/** `[what, command line]` pairs of the "Examples:" section. */
function examples(text: string): { what: string; args: string[] }[] {
  const section = text.split(/\nExamples:\n/)[1] ?? '';
  const out: { what: string; args: string[] }[] = [];
  let what = '';
  for (const line of section.split('\n')) {
    const comment = /^ {2}# (.+)$/.exec(line);
    if (comment) what = comment[1]!;
    const example = /^ {2}\$ odsora (.+)$/.exec(line);
    if (example) out.push({ what, args: example[1]!.split(/\s+/) });
  }
  return out;
}

const commands: string[][] = [];

beforeAll(() => {
  ensureCliBuilt();
  const walk = (path: string[]): void => {
    const subs = subcommands(help(path));
    if (path.length > 0) commands.push(path);
    for (const s of subs) walk([...path, s]);
  };
  walk([]);
});

describe('odsora --help', () => {
  it('lists the commands the README documents', () => {
    const names = commands.map((c) => c.join(' '));
    for (const name of ['generate', 'convert', 'companion', 'studio', 'bench engine', 'label-sheets make'])
      expect(names).toContain(name);
  });

  it('shows examples in every command’s help, each using only that command’s options', () => {
    for (const path of commands) {
      const text = help(path);
      const shown = examples(text);
      expect(shown.length, `odsora ${path.join(' ')} --help has no examples`).toBeGreaterThan(0);
      for (const { what, args } of shown) {
        expect(what, `an example of odsora ${path.join(' ')} says what it does`).not.toBe('');
        // A group's examples run one of its subcommands; a command's run itself.
        const target = args.slice(0, path.length + 1).filter((a) => !a.startsWith('-'));
        expect(args.slice(0, path.length), `${args.join(' ')} is an example of ${path.join(' ')}`).toEqual(
          path,
        );
        const leaf = commands.find((c) => c.join(' ') === target.join(' ')) ?? path;
        const flags = optionFlags(help(leaf));
        for (const flag of args.filter((a) => a.startsWith('--')))
          expect(flags, `odsora ${args.join(' ')}: ${flag} is not an option of ${leaf.join(' ')}`).toContain(
            flag,
          );
      }
    }
  });

  it('marks the options a command cannot run without, and --seed is not one of them', () => {
    // One line per option, whatever the terminal width wrapped.
    const options = (text: string): Map<string, string> =>
      new Map(
        (text.split(/\nOptions:\n/)[1]?.split(/\n\n/)[0] ?? '')
          .split(/\n(?= {2}-)/)
          .map((o) => o.replace(/\s+/g, ' ').trim())
          .map((o) => [/--[a-z0-9-]+/.exec(o)?.[0] ?? o, o]),
      );
    const generate = options(help(['generate']));
    expect(generate.get('--prompt')).toMatch(/the prompt \(required\)$/);
    expect(generate.get('--out')).toMatch(/\(required\)$/);
    expect(generate.get('--seed')).toMatch(/default: a random one, printed and recorded in run\.json\)$/);
    for (const optional of ['--seed', '--steps', '--lpl', '--model'])
      expect(generate.get(optional)).not.toMatch(/\(required\)/);
    expect(options(help(['label-sheets', 'collect'])).get('--annotator')).toMatch(
      /who labelled \(required\)$/,
    );
  });

  it('generate --help shows every technique knob of the registry: its flag or its --lpl key', () => {
    const text = help(['generate']).replace(/\s+/g, ' ');
    const flags = optionFlags(help(['generate']));
    for (const entry of everyKnob()) {
      const cli = knobCli(entry);
      if (entry.technique !== 'lpl') expect(flags, entry.path).toContain(cli);
      else if (entry.mode === 'dynamic')
        expect(text, entry.path).toContain(/dynamic:(\S+)=/.exec(cli)![1] + '=');
      else expect(text, entry.path).toContain('fixed:N');
    }
  });
});
