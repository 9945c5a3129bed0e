// app.info's gitCommit: read from .git without a git binary (loose ref, packed ref, detached HEAD, worktree file),
// null outside a checkout.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readGitCommit } from '../../../../src-main/studio/git-commit';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function checkout(): { root: string; git: string; sub: string } {
  const root = mkdtempSync(join(tmpdir(), 'odsora-git-'));
  dirs.push(root);
  const git = join(root, '.git');
  const sub = join(root, 'out', 'main');
  mkdirSync(join(git, 'refs', 'heads'), { recursive: true });
  mkdirSync(sub, { recursive: true });
  return { root, git, sub };
}

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

describe('readGitCommit', () => {
  it('follows HEAD to a loose branch ref, from a folder below the checkout root', () => {
    const { git, sub } = checkout();
    writeFileSync(join(git, 'HEAD'), 'ref: refs/heads/main\n');
    writeFileSync(join(git, 'refs', 'heads', 'main'), `${A}\n`);
    expect(readGitCommit(sub)).toBe(A);
  });

  it('finds a packed ref, and a detached HEAD', () => {
    const { git, root } = checkout();
    writeFileSync(join(git, 'HEAD'), 'ref: refs/heads/dev\n');
    writeFileSync(
      join(git, 'packed-refs'),
      `# pack-refs with: peeled\n${B} refs/heads/dev\n${A} refs/heads/main\n`,
    );
    expect(readGitCommit(root)).toBe(B);
    writeFileSync(join(git, 'HEAD'), `${A}\n`);
    expect(readGitCommit(root)).toBe(A);
  });

  it('follows a worktree .git file to its gitdir and the common refs', () => {
    const { git } = checkout();
    writeFileSync(join(git, 'refs', 'heads', 'feature'), `${B}\n`);
    const wt = join(git, 'worktrees', 'wt');
    mkdirSync(wt, { recursive: true });
    writeFileSync(join(wt, 'HEAD'), 'ref: refs/heads/feature\n');
    writeFileSync(join(wt, 'commondir'), '../..\n');
    const tree = mkdtempSync(join(tmpdir(), 'odsora-wt-'));
    dirs.push(tree);
    writeFileSync(join(tree, '.git'), `gitdir: ${wt}\n`);
    expect(readGitCommit(tree)).toBe(B);
  });

  it('is null for an unborn branch or outside a checkout', () => {
    const { git, root } = checkout();
    writeFileSync(join(git, 'HEAD'), 'ref: refs/heads/main\n');
    expect(readGitCommit(root)).toBeNull();
    const bare = mkdtempSync(join(tmpdir(), 'odsora-nogit-'));
    dirs.push(bare);
    // tmpdir() is not inside a checkout on any machine this runs on.
    expect(readGitCommit(bare)).toBeNull();
  });
});
