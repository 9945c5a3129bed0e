import { describe, expect, it } from 'vitest';
import { hashOf, routeFromHash } from '../../../src-renderer/routes';

describe('hash routes', () => {
  it('reads the screen and its parameters, decoding each part', () => {
    expect(routeFromHash('#/compare/run-a/run%20b')).toEqual({
      screen: 'compare',
      params: ['run-a', 'run b'],
    });
    expect(routeFromHash('#/composer/rerun/r1')).toEqual({ screen: 'composer', params: ['rerun', 'r1'] });
    expect(routeFromHash('#/presentation')).toEqual({ screen: 'presentation', params: [] });
  });

  it('falls back to Devices for an empty or unknown hash, without its parameters', () => {
    expect(routeFromHash('')).toEqual({ screen: 'devices', params: [] });
    expect(routeFromHash('#/nowhere/x')).toEqual({ screen: 'devices', params: [] });
  });

  it('round-trips through hashOf', () => {
    const parts = ['live', 'run/with/slashes'];
    expect(routeFromHash(hashOf(parts))).toEqual({ screen: 'live', params: ['run/with/slashes'] });
  });
});
