/**
 * The BUILT command line (out/cli/odsora.cjs) for tests: one place that knows where it is, builds it when any
 * source it bundles changed, and runs it to its end.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The repository root. */
export const REPO_ROOT = join(__dirname, '..', '..');
/** The bundled CLI. */
export const CLI_PATH = join(REPO_ROOT, 'out', 'cli', 'odsora.cjs');

/**
 * What scripts/build-cli.mjs bundles from (its entry points under src-main import shared/), and the build itself:
 * a file here newer than the bundle makes it stale.
 */
const BUNDLED_SOURCES = ['shared', 'src-main', 'scripts/build-cli.mjs', 'package.json'];

/** What a finished `odsora` run printed. */
export interface OdsoraResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** True when a file under `path` (a file or a folder) was modified after `sinceMs`. */
function newerThan(path: string, sinceMs: number): boolean {
  if (!existsSync(path)) return false;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs > sinceMs;
  return readdirSync(path, { withFileTypes: true }).some(
    (entry) => entry.name !== 'node_modules' && newerThan(join(path, entry.name), sinceMs),
  );
}

/** True when out/cli is missing or older than a source it bundles. */
export function isCliStale(): boolean {
  if (!existsSync(CLI_PATH)) return true;
  const bundleMs = statSync(CLI_PATH).mtimeMs;
  return BUNDLED_SOURCES.some((p) => newerThan(join(REPO_ROOT, p), bundleMs));
}

let built = false;

/** Bundles out/cli (scripts/build-cli.mjs) once per test process when it is stale; throws with the build's stderr. */
export function ensureCliBuilt(): void {
  if (built) return;
  if (isCliStale()) {
    const r = spawnSync(process.execPath, ['scripts/build-cli.mjs', '--quiet'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 180_000,
    });
    if (r.status !== 0) throw new Error(`build-cli failed: ${r.stderr}`);
  }
  built = true;
}

/** Runs `odsora <args>` from the repository root with `env` added, up to `timeoutMs` (default 4 minutes). */
export function runOdsora(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 240_000,
): OdsoraResult {
  const r = spawnSync(process.execPath, [CLI_PATH, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, ...env },
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
