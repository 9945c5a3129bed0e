// `npm test`: build, type-check, lint, format check and every test; ends with a plain `N passed, N failed` line.
// The static checks count as one test each, so a lint error can never hide behind green unit tests.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const node = (args) => spawnSync(process.execPath, args, { stdio: 'inherit' });

let passed = 0;
let failed = 0;
const check = (name, result) => {
  if (result.status === 0) passed += 1;
  else {
    failed += 1;
    console.error(`\n✗ ${name} failed`);
  }
};

check('build', node(['scripts/build-cli.mjs', '--quiet']));
check('typecheck', node(['scripts/typecheck.mjs']));
check('lint', node(['node_modules/eslint/bin/eslint.js', '--max-warnings', '0', '.']));
check('format', node(['node_modules/prettier/bin/prettier.cjs', '--check', '--log-level', 'warn', '.']));

const report = join(mkdtempSync(join(tmpdir(), 'odsora-test-')), 'vitest.json');
const extra = process.argv.slice(2);
const vitest = node([
  'node_modules/vitest/vitest.mjs',
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${report}`,
  ...extra,
]);
try {
  const json = JSON.parse(readFileSync(report, 'utf8'));
  passed += json.numPassedTests;
  failed += json.numFailedTests;
  if (vitest.status !== 0 && json.numFailedTests === 0) failed += 1; // a suite that failed to load
} catch {
  failed += 1;
  console.error('vitest produced no report');
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
