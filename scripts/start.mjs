// `npm start`: builds the odsora CLI, then runs `odsora studio`, which opens Electron or, where there is no
// Electron binary (or no display), says so and serves the studio to a browser instead. Extra arguments pass
// through, e.g. `npm start -- --web --port 5178`.
import { spawn, spawnSync } from 'node:child_process';

const build = spawnSync(process.execPath, ['scripts/build-cli.mjs', '--quiet'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const studio = spawn(process.execPath, ['out/cli/odsora.cjs', 'studio', ...process.argv.slice(2)], {
  stdio: 'inherit',
});
// Ctrl+C reaches the child through the terminal's process group; a SIGTERM sent to npm needs passing on.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => studio.kill('SIGTERM'));
studio.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
