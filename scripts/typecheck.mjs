// Type-checks every runtime's tsconfig project (tsc -b would need composite emit; --noEmit per project is simpler).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const projects = ['tsconfig.shared.json', 'tsconfig.node.json', 'tsconfig.web.json', 'tsconfig.tests.json'];
if (existsSync('ios-companion/tsconfig.json')) projects.push('ios-companion/tsconfig.json');
let failed = 0;
for (const p of projects) {
  const r = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', p], {
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    failed += 1;
    console.error(`typecheck failed: ${p}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
