/**
 * A byte trie from keys to ids, walked one byte at a time: the vocabulary lookup of the Viterbi search and the
 * user-defined-symbol matcher. It answers exactly what the library's darts-clone tries answer (which keys
 * prefix the input, shortest first), without needing darts' packed layout.
 */

/** Node id of the root. */
export const TRIE_ROOT = 0;

/** A mutable byte trie. */
export class ByteTrie {
  // One map for every edge, keyed node·256 + byte: far lighter than a Map per node for a 32k-piece vocabulary.
  private readonly edges = new Map<number, number>();
  private readonly values: number[] = [-1];

  /** Adds a key (replacing its value if present). */
  insert(key: Uint8Array, value: number): void {
    let node = TRIE_ROOT;
    for (const b of key) {
      const k = node * 256 + b;
      let next = this.edges.get(k);
      if (next === undefined) {
        next = this.values.length;
        this.values.push(-1);
        this.edges.set(k, next);
      }
      node = next;
    }
    this.values[node] = value;
  }

  /** The child of `node` along `byte`, or -1. */
  step(node: number, byte: number): number {
    return this.edges.get(node * 256 + byte) ?? -1;
  }

  /** The value stored at a node, or -1 when no key ends there. */
  value(node: number): number {
    return this.values[node] ?? -1;
  }

  /** Byte length of the longest key that prefixes `bytes[pos, end)`, or 0. */
  longestPrefix(bytes: Uint8Array, pos: number, end: number): number {
    let node = TRIE_ROOT;
    let best = 0;
    for (let i = pos; i < end; i++) {
      node = this.step(node, bytes[i] as number);
      if (node < 0) break;
      if ((this.values[node] as number) >= 0) best = i + 1 - pos;
    }
    return best;
  }
}
