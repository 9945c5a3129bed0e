/**
 * Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as 1, 2, 3", SC 2011), with the
 * Random123 constants. Integer-only (Math.imul, 16-bit splits, bit ops), so every JS engine gives the same bits.
 */

/** Round multipliers M0, M1 (Random123 PHILOX_M4x32_0/1). */
const PHILOX_M0 = 0xd2511f53;
/** Second round multiplier. */
const PHILOX_M1 = 0xcd9e8d57;
/** Key schedule increments W0 (golden ratio) and W1 (√3 − 1), Random123 PHILOX_W32_0/1. */
const PHILOX_W0 = 0x9e3779b9;
/** Second key increment. */
const PHILOX_W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two uint32 values, exactly. */
export function mulhi32(a: number, b: number): number {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const ll = al * bl; // each partial product < 2^32: exact in a double
  const lh = al * bh;
  const hl = ah * bl;
  const hh = ah * bh;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff); // < 3·2^16
  return (hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/**
 * Philox4x32 with `rounds` rounds (10 = Philox4x32-10) of counter (c0, c1, c2, c3) under key (k0, k1), all uint32.
 * Writes the 4 output words to `out` (default a new Uint32Array) and returns it.
 */
export function philox4x32(
  counter: ArrayLike<number>,
  key: ArrayLike<number>,
  out: Uint32Array = new Uint32Array(4),
  rounds = 10,
): Uint32Array {
  let c0 = (counter[0] as number) >>> 0;
  let c1 = (counter[1] as number) >>> 0;
  let c2 = (counter[2] as number) >>> 0;
  let c3 = (counter[3] as number) >>> 0;
  let k0 = (key[0] as number) >>> 0;
  let k1 = (key[1] as number) >>> 0;
  for (let r = 0; r < rounds; r++) {
    if (r > 0) {
      k0 = (k0 + PHILOX_W0) >>> 0;
      k1 = (k1 + PHILOX_W1) >>> 0;
    }
    const hi0 = mulhi32(PHILOX_M0, c0);
    const lo0 = Math.imul(PHILOX_M0, c0) >>> 0;
    const hi1 = mulhi32(PHILOX_M1, c2);
    const lo1 = Math.imul(PHILOX_M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
  return out;
}
