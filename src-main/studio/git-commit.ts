/**
 * The git commit the studio runs from, read once at start straight from `.git` (HEAD, then the loose ref or
 * `packed-refs`), so no `git` binary is needed. Null when the studio does not run from a git checkout.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** The `.git` directory of the checkout holding `start` (following a `gitdir:` file), or null. */
function findGitDir(start: string): string | null {
  let dir = resolve(start);
  for (;;) {
    const candidate = join(dir, '.git');
    if (existsSync(candidate)) {
      if (statSync(candidate).isDirectory()) return candidate;
      // A worktree or submodule: `.git` is a file saying `gitdir: <path>`.
      const match = /^gitdir:\s*(.+)$/m.exec(readFileSync(candidate, 'utf8'));
      return match ? resolve(dir, match[1]!.trim()) : null;
    }
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

function readRef(gitDir: string, ref: string): string | null {
  // Worktrees keep refs in the common dir.
  const commonFile = join(gitDir, 'commondir');
  const dirs = [gitDir];
  if (existsSync(commonFile)) dirs.push(resolve(gitDir, readFileSync(commonFile, 'utf8').trim()));
  for (const dir of dirs) {
    const loose = join(dir, ref);
    if (existsSync(loose)) {
      const sha = readFileSync(loose, 'utf8').trim();
      if (SHA.test(sha)) return sha;
    }
    const packed = join(dir, 'packed-refs');
    if (existsSync(packed)) {
      for (const line of readFileSync(packed, 'utf8').split('\n')) {
        const [sha, name] = line.trim().split(' ');
        if (name === ref && sha !== undefined && SHA.test(sha)) return sha;
      }
    }
  }
  return null;
}

/** The commit HEAD points at in the checkout holding `start`, or null (no checkout, unborn branch, unreadable). */
export function readGitCommit(start: string): string | null {
  try {
    const gitDir = findGitDir(start);
    if (gitDir === null) return null;
    const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
    if (SHA.test(head)) return head;
    const match = /^ref:\s*(\S+)$/.exec(head);
    return match ? readRef(gitDir, match[1]!) : null;
  } catch {
    return null;
  }
}
