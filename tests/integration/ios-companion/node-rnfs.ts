// react-native-fs's API on Node's fs, strict where iOS's implementation is strict (moveFile onto an existing path,
// unlink or stat of a missing path and write() into a missing file all fail), so the app's stores run on Node
// against the same contract. Not a test file itself.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  appendFile,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  statfs,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import type { RnfsLike } from '../../../ios-companion/src/storage/rnfs-like';

function missing(path: string): Error {
  return new Error(`ENOENT: no such file or directory, '${path}'`);
}

/** react-native-fs on Node. `calls` counts bridge calls by method. */
export function nodeRnfs(): RnfsLike & { calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const count = (name: string): void => {
    calls[name] = (calls[name] ?? 0) + 1;
  };
  const decode = (contents: string, encoding: 'utf8' | 'base64'): Buffer =>
    encoding === 'base64' ? Buffer.from(contents, 'base64') : Buffer.from(contents, 'utf8');
  return {
    calls,
    mkdir: async (p) => {
      count('mkdir');
      await mkdir(p, { recursive: true });
    },
    moveFile: async (from, to) => {
      count('moveFile');
      if (!existsSync(from)) throw missing(from);
      if (existsSync(to)) throw new Error(`moveFile: '${to}' already exists`);
      await rename(from, to);
    },
    unlink: async (p) => {
      count('unlink');
      if (!existsSync(p)) throw missing(p);
      await rm(p, { recursive: true });
    },
    exists: async (p) => {
      count('exists');
      return existsSync(p);
    },
    readDir: async (p) => {
      count('readDir');
      const out = [];
      for (const name of await readdir(p)) {
        const s = await stat(join(p, name));
        out.push({
          name,
          path: join(p, name),
          size: s.size,
          mtime: s.mtime,
          isFile: () => s.isFile(),
          isDirectory: () => s.isDirectory(),
        });
      }
      return out;
    },
    stat: async (p) => {
      count('stat');
      if (!existsSync(p)) throw missing(p);
      const s = await stat(p);
      return { size: s.size, isFile: () => s.isFile(), isDirectory: () => s.isDirectory() };
    },
    readFile: async (p, encoding) => {
      count('readFile');
      return (await readFile(p)).toString(encoding);
    },
    read: async (p, length, position) => {
      count('read');
      const fh = await open(p, 'r');
      try {
        const buf = Buffer.alloc(length);
        const { bytesRead } = await fh.read(buf, 0, length, position);
        return buf.subarray(0, bytesRead).toString('base64');
      } finally {
        await fh.close();
      }
    },
    writeFile: async (p, contents, encoding) => {
      count('writeFile');
      await writeFile(p, decode(contents, encoding));
    },
    appendFile: async (p, contents, encoding) => {
      count('appendFile');
      await appendFile(p, decode(contents, encoding));
    },
    write: async (p, contents, position) => {
      count('write');
      if (!existsSync(p)) throw missing(p);
      const data = Buffer.from(contents, 'base64');
      if (position < 0) {
        await appendFile(p, data);
        return;
      }
      const fh = await open(p, 'r+');
      try {
        await fh.write(data, 0, data.length, position);
      } finally {
        await fh.close();
      }
    },
    hash: async (p) => {
      count('hash');
      return createHash('sha256')
        .update(await readFile(p))
        .digest('hex');
    },
    getFSInfo: async () => {
      count('getFSInfo');
      const s = await statfs('/');
      return { freeSpace: Number(s.bavail) * Number(s.bsize) };
    },
  };
}
