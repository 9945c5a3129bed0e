// @vitest-environment happy-dom
// Walks the technique registry: every knob has its composer control, its CLI flag (parsed into its field), its wire
// field and its docs row, so the next knob added to shared/engine/techniques/knobs.ts cannot be forgotten anywhere.
// (tests/integration/cli/help.test.ts checks the built `odsora generate --help` lists each knob's flag.)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { knobCli, techniqueFlags, techniqueSettings } from '../../../../../shared/engine/techniques/cli';
import { techniquesTable } from '../../../../../shared/engine/techniques/docs';
import { everyKnob, PYTHON_DYNAMIC_LPL, type KnobEntry } from '../../../../../shared/engine/techniques/knobs';
import { runParamsSchema } from '../../../../../shared/protocol/run';
import { DEFAULT_FORM, type ComposerForm } from '../../../../../src-renderer/composer/composer-model';
import { knobTestId, TechniqueFields } from '../../../../../src-renderer/composer/technique-fields';

afterEach(cleanup);

const knobs = everyKnob();

/** The form that shows `entry`: its LPL mode chosen, CI-DL on. */
function formShowing(entry: KnobEntry): ComposerForm {
  return {
    ...DEFAULT_FORM,
    lpl: { ...DEFAULT_FORM.lpl, mode: entry.mode ?? DEFAULT_FORM.lpl.mode },
    cidl: { ...DEFAULT_FORM.cidl, enabled: true },
  };
}

/** A value of the knob's kind other than its default, as the CLI writes it. */
function otherText(entry: KnobEntry): string {
  const { spec } = entry;
  switch (spec.kind) {
    case 'int':
      return String(spec.default === spec.min ? spec.min + 1 : spec.min);
    case 'number':
      return String(spec.default + 1);
    case 'enum':
      return Object.keys(spec.values).find((v) => v !== spec.default)!;
    case 'boolean':
      return String(!spec.default);
  }
}

describe('every registry knob', () => {
  it('walks all three techniques', () => {
    expect(new Set(knobs.map((k) => k.technique))).toEqual(new Set(['lpl', 'tdtm', 'cidl']));
  });

  it.each(knobs.map((k) => [k.path, k] as const))('%s has its composer control', (_path, entry) => {
    render(<TechniqueFields form={formShowing(entry)} set={() => undefined} />);
    const control = screen.getByTestId(knobTestId(entry.technique, entry.field)) as HTMLInputElement;
    const kind = entry.spec.kind;
    if (kind === 'enum') expect(control.tagName).toBe('SELECT');
    else expect(control.type).toBe(kind === 'boolean' ? 'checkbox' : 'number');
    expect(screen.getByText(entry.spec.label, { exact: false })).toBeTruthy();
  });

  it.each(knobs.map((k) => [k.path, k] as const))(
    '%s has its CLI flag, parsed into its field',
    (_path, entry) => {
      const flags = techniqueFlags();
      if (entry.technique === 'lpl') {
        const lpl = flags.find((f) => f.field === 'lpl')!;
        const spelled = knobCli(entry)
          .replace(/^--lpl /, '')
          .split(/[=:( ]/)[entry.mode === 'fixed' ? 0 : 1]!;
        expect(lpl.help).toContain(spelled);
        if (entry.mode === 'dynamic') {
          const text = `dynamic:${spelled}=${otherText(entry)}`;
          const parsed = lpl.parse!(text) as Record<string, unknown>;
          expect(parsed[entry.field]).not.toEqual(
            PYTHON_DYNAMIC_LPL[entry.field as keyof typeof PYTHON_DYNAMIC_LPL],
          );
        }
        return;
      }
      const flag = flags.find((f) => f.field === entry.path);
      expect(flag, `no CLI flag sets ${entry.path}`).toBeDefined();
      expect(flag!.flags.split(' ')[0]).toBe(knobCli(entry));
      const value = flag!.parse === undefined ? !entry.spec.default : flag!.parse(otherText(entry));
      const settings = techniqueSettings((f) => (f.flags === flag!.flags ? value : undefined));
      const section = settings[entry.technique] as Record<string, unknown>;
      expect(section[entry.field]).toEqual(value);
      expect(value).not.toEqual(entry.spec.default);
    },
  );

  it.each(knobs.map((k) => [k.path, k] as const))('%s is a wire field and a docs row', (_path, entry) => {
    const params = { prompt: 'x', seed: 1, [entry.technique]: {} } as Record<string, Record<string, unknown>>;
    if (entry.technique === 'lpl') params['lpl'] = { mode: entry.mode, ...DEFAULT_FORM.lpl[entry.mode!] };
    if (entry.technique === 'tdtm') params['tdtm'] = { ...DEFAULT_FORM.tdtm };
    if (entry.technique === 'cidl') params['cidl'] = { budget: { kind: 'unlimited' } };
    params[entry.technique]![entry.field] = entry.spec.default;
    expect(runParamsSchema.safeParse(params).success).toBe(true);
    params[entry.technique]![entry.field] = { not: 'a value' };
    const refused = runParamsSchema.safeParse(params);
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]?.path.join('.')).toBe(entry.path);
    const doc = readFileSync(join(__dirname, '../../../../../docs/techniques.md'), 'utf8');
    for (const table of [techniquesTable(), doc])
      expect(table).toMatch(new RegExp(`^\\| \`${entry.path}\` +\\|`, 'm'));
  });
});
