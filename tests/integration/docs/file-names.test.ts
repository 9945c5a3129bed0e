// One file-name convention for the TypeScript in every room, the two React rooms included: kebab-case
// (`composer-screen.tsx`, `run-screen.tsx`), dots only before the extension's parts (`.test.ts`, `.e2e.test.ts`).
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..', '..');
const ROOMS = ['shared', 'src-main', 'src-renderer', 'ios-companion/src', 'tests'];
const KEBAB = /^[a-z0-9]+(?:[.-][a-z0-9]+)*\.tsx?$/;

function tsFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    if (e === 'node_modules' || e === 'fixtures') continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) tsFiles(p, out);
    else if (/\.tsx?$/.test(e)) out.push(p);
  }
  return out;
}

it('names every .ts and .tsx file in kebab-case', () => {
  const files = ROOMS.flatMap((r) => tsFiles(join(ROOT, r)));
  expect(files.length).toBeGreaterThan(500);
  const off = files.filter((f) => !KEBAB.test(f.split('/').pop() ?? '')).map((f) => relative(ROOT, f));
  expect(off).toEqual([]);
});
