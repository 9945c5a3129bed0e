import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../../../shared/engine/telemetry';
import { loadHiddenShare, overlappingLoads } from '../../../../src-main/bench/trace-stats';

const load = (block: string, start: number, end: number): EngineEvent[] => [
  { type: 'block.load.start', atMs: start, block, bytes: 1, residentBytes: 1, budgetBytes: null },
  { type: 'block.load.end', atMs: end, block, bytes: 1, residentBytes: 1, budgetBytes: null },
];
const compute = (block: string, start: number, end: number): EngineEvent[] => [
  { type: 'block.compute.start', atMs: start, block, step: 0, variant: 'plain' },
  { type: 'block.compute.end', atMs: end, block, step: 0, variant: 'plain' },
];
const sorted = (events: EngineEvent[]): EngineEvent[] => [...events].sort((a, b) => a.atMs - b.atMs);

describe('trace statistics', () => {
  it('counts a load hidden behind the previous block’s compute as hidden', () => {
    const events = sorted([
      ...load('a', 0, 10),
      ...compute('a', 10, 30),
      ...load('b', 10, 20),
      ...compute('b', 30, 50),
    ]);
    const s = loadHiddenShare(events);
    expect(s.loadMs).toBe(20);
    expect(s.exposedMs).toBe(10); // only a's own load was waited for
    expect(s.hiddenShare).toBeCloseTo(0.5);
    expect(overlappingLoads(events)).toBe(1);
  });

  it('counts a sequential load as fully exposed', () => {
    const events = sorted([
      ...load('a', 0, 10),
      ...compute('a', 10, 20),
      ...load('b', 20, 30),
      ...compute('b', 30, 40),
    ]);
    const s = loadHiddenShare(events);
    expect(s.hiddenShare).toBe(0);
    expect(overlappingLoads(events)).toBe(0);
  });
});
