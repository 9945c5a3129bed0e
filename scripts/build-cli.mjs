// Bundles the odsora command line and the engine worker with esbuild (about a second).
import { build } from 'esbuild';

const quiet = process.argv.includes('--quiet');
await build({
  entryPoints: {
    odsora: 'src-main/cli/odsora.ts',
    'ort-worker': 'src-main/engine-host/ort-worker.ts',
    'companion-engine-worker': 'src-main/companion/engine-worker.ts',
  },
  outdir: 'out/cli',
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  external: ['onnxruntime-node', 'electron', 'bufferutil', 'utf-8-validate'],
  logLevel: quiet ? 'warning' : 'info',
});
