// Every folder README lists its files: a source file added next to a README.md without a word in it fails here, so
// the READMEs stay a map of the code (issue 18, item 6).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..', '..');
const ROOMS = ['shared', 'src-main', 'src-renderer', 'ios-companion/src', 'tools', 'scripts'];
const SOURCE = /\.(ts|tsx|mjs|cjs|py)$/;

/** Every folder under `dir` (itself included) that holds a README.md. */
function foldersWithReadme(dir: string, out: string[] = []): string[] {
  const entries = readdirSync(dir);
  if (entries.includes('README.md')) out.push(dir);
  for (const e of entries) {
    if (e === 'node_modules' || e.startsWith('.')) continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) foldersWithReadme(p, out);
  }
  return out;
}

describe('folder READMEs', () => {
  const folders = ROOMS.flatMap((r) => foldersWithReadme(join(ROOT, r)));

  it('exist at the top of each TypeScript room', () => {
    for (const room of ['shared', 'src-main', 'src-renderer'])
      expect(folders, room).toContain(join(ROOT, room));
  });

  it.each(folders.map((f) => [relative(ROOT, f), f]))(
    '%s/README.md names every source file beside it',
    (_, dir) => {
      const readme = readFileSync(join(dir, 'README.md'), 'utf8');
      const files = readdirSync(dir).filter((f) => SOURCE.test(f) && statSync(join(dir, f)).isFile());
      expect(files.filter((f) => !readme.includes(f))).toEqual([]);
    },
  );
});
