// What a newcomer reads: every document a README, doc or source comment points to is in the repository (a link
// that leaves the checkout is a dead link for everyone else), the README's quick start shows a real screenshot kept
// in docs/, and the README lists exactly the words the bundled model's tokenizer knows.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { T5Tokenizer } from '../../../shared/engine/t5/tokenizer';

const ROOT = resolve(__dirname, '..', '..', '..');
/** Build outputs, dependencies, test artifacts and the golden tensors (data, not prose). */
const SKIP_DIRS = new Set(['node_modules', 'out', '.git', 'artifacts', 'dist', 'coverage', '.cache', 'runs']);
const SKIP_PATHS = new Set(['tests/fixtures', 'ios-companion/ios/Pods']);
const TEXT_EXTENSIONS = new Set(['.md', '.ts', '.tsx', '.mjs', '.cjs', '.js', '.py']);
/** A screenshot small enough to keep in the repository. */
const MAX_SCREENSHOT_BYTES = 200 * 1024;

/** The repository's prose and source files, as paths relative to the root ('/'-separated). */
function repoTextFiles(dir = ROOT): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const rel = relative(ROOT, path).split(sep).join('/');
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name) && !SKIP_PATHS.has(rel)) files.push(...repoTextFiles(path));
    } else if (entry.isFile() && TEXT_EXTENSIONS.has(extname(entry.name))) {
      files.push(rel);
    }
  }
  return files;
}

function isInsideRepo(path: string): boolean {
  const rel = relative(ROOT, path);
  return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep) && !/^[A-Za-z]:/.test(rel);
}

/** Where a path written in `file` points: relative to the file when it starts with ./ or ../, else to the root. */
function candidates(file: string, target: string): string[] {
  const fromFile = resolve(ROOT, dirname(file), target);
  if (target.startsWith('./') || target.startsWith('../')) return [fromFile];
  return [resolve(ROOT, target), fromFile];
}

/** A path written in `file` that names nothing in the repository (null when it resolves to a file or folder). */
function deadReference(file: string, target: string): string | null {
  const found = candidates(file, target).find((p) => isInsideRepo(p) && existsSync(p));
  return found === undefined ? `${file}: ${target}` : null;
}

/** Relative targets of markdown links and images (`[text](target)`), anchors and titles removed. */
function markdownTargets(text: string): string[] {
  const targets: string[] = [];
  for (const m of text.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const target = m[1]!.split('#')[0]!;
    if (target === '' || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // an anchor, or http:, mailto: …
    targets.push(decodeURI(target));
  }
  return targets;
}

/** Paths of documents under a `docs/` folder named in any text (`docs/<name>.md`, `../<folder>/docs/<name>.md` …). */
function docMentions(text: string): string[] {
  return [...text.matchAll(/(?:\.{1,2}\/)*(?:[\w.-]+\/)*docs\/[\w./-]*?[\w-]+\.md/g)].map((m) => m[0]);
}

/** The section of a markdown text under `heading` (up to the next heading of any level). */
function section(text: string, heading: string): string {
  const start = text.indexOf(`${heading}\n`);
  if (start < 0) return '';
  const rest = text.slice(start + heading.length + 1);
  const next = rest.search(/^#{1,6} /m);
  return next < 0 ? rest : rest.slice(0, next);
}

/** Width and height from a PNG's IHDR chunk, or null when the bytes are not a PNG. */
function pngSize(bytes: Buffer): { width: number; height: number } | null {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (bytes.length < 24 || !bytes.subarray(0, 8).equals(signature)) return null;
  if (bytes.subarray(12, 16).toString('latin1') !== 'IHDR') return null;
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

describe('the documentation a newcomer reads', () => {
  it('links and refers only to files inside the repository', () => {
    const files = repoTextFiles();
    expect(files).toContain('README.md');
    const dead: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      const targets = file.endsWith('.md')
        ? [...markdownTargets(text), ...docMentions(text)]
        : docMentions(text);
      for (const target of targets) {
        const problem = deadReference(file, target);
        if (problem !== null) dead.push(problem);
      }
    }
    expect(dead, 'references to documents that are not in the repository').toEqual([]);
  });

  it('has the design document the README points to, covering rooms, ports, contracts and a run', () => {
    expect(markdownTargets(readme)).toContain('docs/architecture.md');
    const architecture = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8');
    // Every file it names in backticks exists (it describes the code as it is). Paths in a host's column of the
    // ports table are relative to that host's folder.
    const named = [...architecture.matchAll(/`([\w.-]+(?:\/[\w.-]+)*\.(?:ts|tsx|mjs|json|md))`/g)]
      .map((m) => m[1]!)
      .filter((p) => p.includes('/'));
    expect(named.length).toBeGreaterThan(20);
    const missing = named.filter(
      (p) =>
        !['', 'src-main/', 'ios-companion/src/', 'src-main/studio/services/', 'shared/companion/'].some(
          (dir) => existsSync(join(ROOT, dir + p)),
        ),
    );
    expect(missing, 'files docs/architecture.md names that do not exist').toEqual([]);
  });

  it('shows a real screenshot of the studio in the quick start, kept small in docs/', () => {
    const quickStart = section(readme, '## Quick start');
    expect(quickStart, 'the README has a "Quick start" section').not.toBe('');
    const images = [...quickStart.matchAll(/!\[[^\]]+\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
    expect(images).toHaveLength(1);
    const image = images[0]!;
    expect(image.startsWith('docs/') && image.endsWith('.png'), `${image} is a PNG in docs/`).toBe(true);
    const bytes = readFileSync(join(ROOT, image));
    expect(statSync(join(ROOT, image)).size).toBeLessThanOrEqual(MAX_SCREENSHOT_BYTES);
    const size = pngSize(bytes);
    expect(size, `${image} is a PNG file`).not.toBeNull();
    expect(size!.width).toBeGreaterThanOrEqual(800);
    expect(size!.height).toBeGreaterThanOrEqual(400);
    // The steps a newcomer takes, in order.
    const steps = ['Start', 'Pair', 'Run', 'Baseline', 'Compare', 'Export'].map((s) =>
      quickStart.indexOf(`**${s}**`),
    );
    expect(steps.every((at) => at >= 0)).toBe(true);
    expect([...steps].sort((a, b) => a - b)).toEqual(steps);
    expect(quickStart).toMatch(/opens no browser window/);
  });

  it('lists exactly the words the bundled model knows', () => {
    const tokenizer = T5Tokenizer.fromJson(
      JSON.parse(
        readFileSync(join(ROOT, 'models', 'opensora-nano', 'text_encoder', 'tokenizer.json'), 'utf8'),
      ),
    );
    const known = new Set(tokenizer.vocabularyWords ?? []);
    expect(known.size).toBeGreaterThan(0);
    const listing = section(readme, '### What the bundled model understands');
    expect(listing, 'the README has the vocabulary section').not.toBe('');
    const sentence = /```\n(a <[^\n]+)\n```/.exec(listing)?.[1] ?? '';
    const rows = [...listing.matchAll(/^\| `(\w+)`\s*\| ([^|]+)\|$/gm)];
    expect(rows.length).toBeGreaterThan(0);
    const listed = new Set<string>();
    for (const word of sentence.split(/\s+/)) if (!word.startsWith('<')) listed.add(word);
    for (const row of rows) {
      expect(sentence, `the sentence has the <${row[1]!}> slot`).toContain(`<${row[1]!}>`);
      for (const word of row[2]!.split(/[,\s]+/)) if (word !== '') listed.add(word);
    }
    expect([...listed].sort()).toEqual([...known].sort());
  });
});
