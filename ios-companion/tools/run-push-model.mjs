// Runs tools/push-model.ts on the studio's computer: bundled with esbuild (a dev dependency at the repository root)
// into a temporary folder, then executed with the same arguments.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(mkdtempSync(join(tmpdir(), 'odsora-push-')), 'push-model.cjs');
await build({
  stdin: {
    contents: `import { runPushModelCli } from './push-model';
runPushModelCli(process.argv.slice(2)).catch((e) => {
  console.error('push-model: ' + e.message);
  process.exit(1);
});`,
    resolveDir: here,
    loader: 'ts',
  },
  outfile: out,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['bufferutil', 'utf-8-validate', 'onnxruntime-node', 'bonjour-service'],
  nodePaths: [join(here, '..', '..', 'node_modules')],
  logLevel: 'warning',
});
const r = spawnSync(process.execPath, [out, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, NODE_PATH: join(here, '..', '..', 'node_modules') },
});
process.exit(r.status ?? 1);
