/**
 * The BUILT command line (out/cli/odsora.cjs) for CLI tests: build it once per test file, then run it to its end.
 */
import { spawnSync } from 'node:child_process';
import { CLI_PATH, REPO_ROOT } from './companion-process';

/** What a finished `odsora` run printed. */
export interface OdsoraResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Bundles out/cli (scripts/build-cli.mjs); throws with its stderr when the build fails. */
export function buildCli(): void {
  const r = spawnSync(process.execPath, ['scripts/build-cli.mjs', '--quiet'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`build-cli failed: ${r.stderr}`);
}

/** Runs `odsora <args>` from the repository root with `env` added, up to 4 minutes. */
export function runOdsora(args: readonly string[], env: NodeJS.ProcessEnv = {}): OdsoraResult {
  const r = spawnSync(process.execPath, [CLI_PATH, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, ...env },
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
