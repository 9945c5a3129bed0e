/**
 * `mulberry32`: a small seeded PRNG for everything that must be random-looking yet the same on every run (the
 * protocol fuzzer, label-sheet shuffles, synthetic test clips and prompts). Not the engine's noise: that is
 * shared/engine/noise/ (portable Gaussian noise from a seed).
 */

/** A generator of uniform numbers in [0, 1), the same sequence for the same 32-bit `seed`. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
