import { describe, expect, it } from 'vitest';
import {
  DEFAULT_AUTO_RESERVE_BYTES,
  parseBudget,
  resolveBudget,
} from '../../../../../shared/engine/cidl/budget';

describe('parseBudget', () => {
  it.each([
    ['all', { kind: 'unlimited' }],
    ['Unlimited', { kind: 'unlimited' }],
    ['auto', { kind: 'auto' }],
    ['auto:512MiB', { kind: 'auto', reserveBytes: 512 * 1024 ** 2 }],
    ['50%', { kind: 'fraction', of: 0.5 }],
    [' 12.5 % ', { kind: 'fraction', of: 0.125 }],
    ['100%', { kind: 'fraction', of: 1 }],
    ['512MiB', { kind: 'bytes', bytes: 512 * 1024 ** 2 }],
    ['1.5GB', { kind: 'bytes', bytes: 1.5e9 }],
    ['1.5 gib', { kind: 'bytes', bytes: 1.5 * 1024 ** 3 }],
    ['64kB', { kind: 'bytes', bytes: 64_000 }],
    ['123456', { kind: 'bytes', bytes: 123456 }],
  ])('parses %j', (text, expected) => {
    expect(parseBudget(text)).toEqual(expected);
  });

  it.each([
    ['', /invalid budget '': expected 'all'/],
    ['lots', /invalid budget 'lots': expected/],
    ['0%', /invalid budget '0%': a percentage must be in/],
    ['150%', /invalid budget '150%'/],
    ['abc%', /invalid budget 'abc%'/],
    ['12 parsecs', /invalid budget '12 parsecs': unknown unit 'parsecs'/],
    ['1.5', /invalid budget '1.5': a size without a unit is whole bytes/],
    ['0', /invalid budget '0': a budget must be at least 1 byte/],
    ['-5MiB', /invalid budget '-5MiB'/],
    ['auto:lots', /invalid budget 'auto:lots'/],
  ])('rejects %j naming the value', (text, message) => {
    expect(() => parseBudget(text)).toThrow(message);
  });
});

describe('resolveBudget', () => {
  const probe = (available: number) => ({
    availableBytes: async () => available,
    footprintBytes: async () => 0,
  });

  it('resolves each kind to bytes', async () => {
    expect(await resolveBudget({ kind: 'unlimited' }, { totalBlockBytes: 1000 })).toBeNull();
    expect(await resolveBudget({ kind: 'bytes', bytes: 512.7 }, { totalBlockBytes: 1000 })).toBe(512);
    expect(await resolveBudget({ kind: 'fraction', of: 0.333 }, { totalBlockBytes: 1000 })).toBe(333);
    expect(
      await resolveBudget({ kind: 'auto', reserveBytes: 100 }, { totalBlockBytes: 1, probe: probe(1000) }),
    ).toBe(900);
    expect(
      await resolveBudget(
        { kind: 'auto' },
        { totalBlockBytes: 1, probe: probe(DEFAULT_AUTO_RESERVE_BYTES + 5) },
      ),
    ).toBe(5);
    expect(await resolveBudget({ kind: 'auto' }, { totalBlockBytes: 1, probe: probe(10) })).toBe(0);
  });

  it('explains what is missing or wrong', async () => {
    await expect(resolveBudget({ kind: 'auto' }, { totalBlockBytes: 1 })).rejects.toThrow(
      /needs a memory probe/,
    );
    await expect(resolveBudget({ kind: 'fraction', of: 2 }, { totalBlockBytes: 1 })).rejects.toThrow(
      /fraction 2/,
    );
  });
});
