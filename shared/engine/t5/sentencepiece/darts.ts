/**
 * darts-clone double-array tries (third_party/darts_clone/darts.h), the format of the trie inside SentencePiece's
 * precompiled charsmap. A unit is a little-endian u32: bits 0-7 the label, bit 8 "has a leaf", bits 10-31 the
 * offset to its children (shifted left by 8 when bit 9 is set); a leaf unit has bit 31 set and holds a 31-bit
 * value. Children of the unit at `id` sit at `id ^ offset ^ byte`, its leaf at `id ^ offset`.
 */

/** One key found by `commonPrefixSearch`. */
export interface PrefixMatch {
  /** Key length in bytes. */
  length: number;
  value: number;
}

const label = (u: number): number => (u & 0x800000ff) >>> 0;
const hasLeaf = (u: number): boolean => ((u >>> 8) & 1) === 1;
const offset = (u: number): number => (u >>> 10) * ((u & 0x200) !== 0 ? 256 : 1);

/** A read-only double array. */
export class DoubleArray {
  constructor(
    /** The units. */
    readonly units: Uint32Array,
  ) {}

  /** Every key that is a prefix of `bytes[start, end)`, shortest first (darts' `commonPrefixSearch`). */
  commonPrefixSearch(bytes: Uint8Array, start: number, end: number): PrefixMatch[] {
    const out: PrefixMatch[] = [];
    const units = this.units;
    let nodePos = offset(units[0] ?? 0);
    for (let i = start; i < end; i++) {
      const c = bytes[i] as number;
      nodePos ^= c;
      // A unit outside the array matches nothing (the C++ would read past it; well-formed tries never do).
      const unit = units[nodePos];
      if (unit === undefined || label(unit) !== c) break;
      nodePos ^= offset(unit);
      if (hasLeaf(unit))
        out.push({ length: i + 1 - start, value: ((units[nodePos] ?? 0) & 0x7fffffff) >>> 0 });
    }
    return out;
  }

  /** The longest key that is a prefix of `bytes[start, end)`, or null. */
  longestPrefix(bytes: Uint8Array, start: number, end: number): PrefixMatch | null {
    const all = this.commonPrefixSearch(bytes, start, end);
    return all.length === 0 ? null : (all[all.length - 1] as PrefixMatch);
  }
}

interface BuildNode {
  children: Map<number, BuildNode>;
  value: number | undefined;
}

/**
 * Builds a double array from keys and values (keys non-empty, without NUL bytes, values 0 to 2^31 − 1). Simpler than
 * darts-clone's builder (no suffix sharing, first-fit placement) but the same unit format, so the library reads it.
 */
export function buildDoubleArray(entries: ReadonlyArray<readonly [Uint8Array, number]>): Uint32Array {
  const root: BuildNode = { children: new Map(), value: undefined };
  for (const [key, value] of entries) {
    if (key.length === 0) throw new Error('buildDoubleArray: a key is empty');
    if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff)
      throw new Error(`buildDoubleArray: value ${value} is not an integer in [0, 2^31)`);
    let node = root;
    for (const b of key) {
      if (b === 0) throw new Error('buildDoubleArray: a key contains a NUL byte');
      let next = node.children.get(b);
      if (next === undefined) node.children.set(b, (next = { children: new Map(), value: undefined }));
      node = next;
    }
    if (node.value !== undefined) throw new Error('buildDoubleArray: a key is repeated');
    node.value = value;
  }
  // Unused units read as leaves (bit 31), whose label never equals a byte, so a stray lookup always misses.
  let units: number[] = new Array<number>(256).fill(0x80000000);
  const used = new Set<number>([0]);
  const usedBases = new Set<number>();
  const grow = (n: number): void => {
    while (units.length < n) units = units.concat(new Array<number>(256).fill(0x80000000));
  };
  const queue: Array<[BuildNode, number, number]> = [[root, 0, 0]];
  let searchFrom = 1;
  while (queue.length > 0) {
    const [node, id, lab] = queue.shift() as [BuildNode, number, number];
    const labels = [...node.children.keys()].sort((a, b) => a - b);
    if (node.value !== undefined) labels.unshift(0);
    let unit = lab;
    if (labels.length > 0) {
      let base = searchFrom;
      // Offsets up to 2^21 are stored as they are; the root's must be below 512 for darts' own loader.
      for (; ; base++) {
        const off = id ^ base;
        if (off === 0 || off >= 1 << 21 || usedBases.has(base)) continue;
        if (labels.every((c) => !used.has(base ^ c))) break;
      }
      if (id === 0 && (id ^ base) >= 512) throw new Error('buildDoubleArray: root offset out of range');
      usedBases.add(base);
      while (used.has(searchFrom)) searchFrom++;
      grow((base | 0xff) + 1);
      for (const c of labels) used.add(base ^ c);
      unit |= (id ^ base) << 10;
      if (node.value !== undefined) {
        unit |= 1 << 8;
        units[base] = (node.value | 0x80000000) >>> 0;
      }
      for (const [c, child] of node.children) queue.push([child, base ^ c, c]);
    }
    units[id] = unit >>> 0;
  }
  return Uint32Array.from(units);
}
