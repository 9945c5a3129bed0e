// The addresses a companion announces are the ones it listens on (advertise.ts), for every kind of --host.
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { advertisedAddresses, isLoopbackHost } from '../../../../src-main/companion/advertise';

const iface = (address: string, family: 'IPv4' | 'IPv6', internal = false): NetworkInterfaceInfo =>
  ({
    address,
    family,
    internal,
    netmask: family === 'IPv4' ? '255.255.255.0' : 'ffff:ffff:ffff:ffff::',
    mac: internal ? '00:00:00:00:00:00' : '02:42:ac:11:00:02',
    cidr: null,
    ...(family === 'IPv6' ? { scopeid: 0 } : {}),
  }) as NetworkInterfaceInfo;

/** A laptop: loopback, Wi-Fi with IPv4 and IPv6, a second wired IPv4. */
const LAPTOP = {
  lo: [iface('127.0.0.1', 'IPv4', true), iface('::1', 'IPv6', true)],
  wlan0: [iface('fe80::1c2d:3e4f', 'IPv6'), iface('192.168.1.20', 'IPv4')],
  eth0: [iface('10.0.0.5', 'IPv4')],
};

describe('advertisedAddresses', () => {
  it('announces a loopback listener as itself, on loopback only', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1'])
      expect(advertisedAddresses(host, { interfaces: LAPTOP })).toEqual({
        addresses: [host],
        loopbackOnly: true,
      });
    expect(advertisedAddresses('localhost', { interfaces: LAPTOP })).toEqual({
      addresses: ['127.0.0.1'],
      loopbackOnly: true,
    });
  });

  it('announces 0.0.0.0 with the network IPv4 addresses, never loopback', () => {
    expect(advertisedAddresses('0.0.0.0', { interfaces: LAPTOP })).toEqual({
      addresses: ['192.168.1.20', '10.0.0.5'],
      loopbackOnly: false,
    });
  });

  it('announces :: with IPv4 first, then IPv6', () => {
    expect(advertisedAddresses('::', { interfaces: LAPTOP }).addresses).toEqual([
      '192.168.1.20',
      '10.0.0.5',
      'fe80::1c2d:3e4f',
    ]);
  });

  it('announces one chosen address as just that address', () => {
    expect(advertisedAddresses('10.0.0.5', { interfaces: LAPTOP })).toEqual({
      addresses: ['10.0.0.5'],
      loopbackOnly: false,
    });
  });

  it('falls back to loopback when asked to (--loopback) or when there is no network', () => {
    const loopback = { addresses: ['127.0.0.1'], loopbackOnly: true };
    expect(advertisedAddresses('0.0.0.0', { interfaces: LAPTOP, loopbackOnly: true })).toEqual(loopback);
    expect(advertisedAddresses('0.0.0.0', { interfaces: { lo: LAPTOP.lo } })).toEqual(loopback);
  });

  it('knows loopback hosts', () => {
    expect(['localhost', '127.0.0.1', '::1', '127.255.0.1'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '192.168.1.20', '::', 'phone.local'].some(isLoopbackHost)).toBe(false);
  });
});
