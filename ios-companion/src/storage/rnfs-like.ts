/**
 * The slice of react-native-fs the app's stores use. The real module satisfies it as it is; tests give a
 * Node-backed implementation, so the stores' logic (base64 at the bridge, positional writes, atomic renames) runs on
 * Node. Paths are absolute and '/'-separated.
 */

/** One directory entry. */
export interface RnfsDirItem {
  name: string;
  path: string;
  size: number;
  /** Last modification (react-native-fs gives it on iOS and Android). */
  mtime?: Date | undefined;
  isFile(): boolean;
  isDirectory(): boolean;
}

/** react-native-fs, as the stores use it. Binary data crosses the bridge as base64. */
export interface RnfsLike {
  mkdir(path: string): Promise<void>;
  moveFile(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  readDir(path: string): Promise<RnfsDirItem[]>;
  stat(path: string): Promise<{ size: number; isFile(): boolean; isDirectory(): boolean }>;
  readFile(path: string, encoding: 'utf8' | 'base64'): Promise<string>;
  /** Reads `length` bytes at `position` (fewer at the end of the file). */
  read(path: string, length: number, position: number, encoding: 'base64'): Promise<string>;
  writeFile(path: string, contents: string, encoding: 'utf8' | 'base64'): Promise<void>;
  appendFile(path: string, contents: string, encoding: 'utf8' | 'base64'): Promise<void>;
  /** Writes at `position` of an existing file (-1: append). */
  write(path: string, contents: string, position: number, encoding: 'base64'): Promise<void>;
  hash(path: string, algorithm: 'sha256'): Promise<string>;
  getFSInfo(): Promise<{ freeSpace: number }>;
}

/** Joins path parts with '/', dropping empty parts and duplicate separators. */
export function joinPath(...parts: string[]): string {
  const joined = parts.filter((p) => p !== '').join('/');
  return joined.replace(/\/+/g, '/');
}

/** The parent folder of a path. */
export function dirnameOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}
