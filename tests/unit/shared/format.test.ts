import { describe, expect, it } from 'vitest';
import { formatBytes } from '../../../shared/format';

describe('formatBytes', () => {
  it('on screens: the largest unit, one decimal below 100 and none from 100 up, a dash for nothing', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(170 * 1024 * 1024)).toBe('170 MiB');
    expect(formatBytes(null)).toBe('—');
    expect(formatBytes(undefined)).toBe('—');
  });

  it('in messages: a readable size and the exact bytes', () => {
    expect(formatBytes(999, 'exact')).toBe('999 B');
    expect(formatBytes(170 * 1024 * 1024, 'exact')).toBe('170.0 MiB (178257920 B)');
  });

  it('in reports: pinned to one unit with one decimal', () => {
    expect(formatBytes(512 * 1024, 'MiB')).toBe('0.5 MiB');
    expect(formatBytes(3 * 1024 ** 3, 'GiB')).toBe('3.0 GiB');
  });
});
