import { describe, expect, it } from 'vitest';
import { tdtmFrameMap } from '../../../../../shared/engine/stdit3/block-graph';

/** The authors' unmerge: repeat each merged frame twice; append the last if T_m is odd and not 15. */
function referenceLength(T: number): number {
  const m = Math.floor(T / 2);
  return 2 * m + (m % 2 === 1 && m !== 15 ? 1 : 0);
}

describe('TDTM frame map', () => {
  it('maps T = 4 and T = 20 to plain pair repeats', () => {
    expect(tdtmFrameMap(4)).toEqual({ merged: 2, map: [0, 0, 1, 1], matchesReference: true });
    expect(tdtmFrameMap(20).map).toEqual(Array.from({ length: 20 }, (_, i) => Math.floor(i / 2)));
  });

  it('gives the last frame of T = 7 the (4, 5) pair, as the reference does', () => {
    expect(tdtmFrameMap(7)).toEqual({ merged: 3, map: [0, 0, 1, 1, 2, 2, 2], matchesReference: true });
  });

  it('keeps T = 15 (T_m = 15 exception) and T = 30 on the reference path', () => {
    expect(tdtmFrameMap(15)).toMatchObject({ merged: 7, matchesReference: true });
    expect(tdtmFrameMap(15).map.at(-1)).toBe(6);
    expect(tdtmFrameMap(30)).toMatchObject({ merged: 15, matchesReference: true });
  });

  it('defines frame counts where the reference fails by padding with the last merged frame', () => {
    expect(tdtmFrameMap(5)).toEqual({ merged: 2, map: [0, 0, 1, 1, 1], matchesReference: false });
    expect(tdtmFrameMap(2)).toEqual({ merged: 1, map: [0, 0], matchesReference: false });
    expect(tdtmFrameMap(6)).toEqual({ merged: 3, map: [0, 0, 1, 1, 2, 2], matchesReference: false });
  });

  it('agrees with the reference exactly where the reference yields T frames, for T = 2..64', () => {
    for (let T = 2; T <= 64; T++) {
      const fm = tdtmFrameMap(T);
      expect(fm.map).toHaveLength(T);
      expect(fm.matchesReference).toBe(referenceLength(T) === T);
      // Spec 5.4: T ≡ 0 or 3 (mod 4), plus T = 30, minus T = 31 (both from the T_m = 15 exception).
      expect(fm.matchesReference).toBe(((T % 4 === 0 || T % 4 === 3) && T !== 31) || T === 30);
      for (let i = 0; i < T; i++) expect(fm.map[i]).toBe(Math.min(Math.floor(i / 2), fm.merged - 1));
    }
  });

  it('rejects fewer than two frames', () => {
    expect(() => tdtmFrameMap(1)).toThrow(/at least 2/);
  });
});
