// @vitest-environment happy-dom
import { act, cleanup, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { BridgeStatus, StudioConnection } from '../../../src-renderer/api';
import { App } from '../../../src-renderer/app';
import { FakeStudio } from './helpers/fake-studio';

afterEach(() => {
  cleanup();
  window.location.hash = '';
});

function webConnection(studio: FakeStudio, role: 'control' | 'mirror') {
  const statusListeners = new Set<(s: BridgeStatus) => void>();
  const connection: StudioConnection = {
    mode: 'web',
    role,
    api: studio.api,
    onEvent: studio.onEvent,
    onStatus: (l) => {
      statusListeners.add(l);
      return () => statusListeners.delete(l);
    },
  };
  return { connection, setStatus: (s: BridgeStatus) => statusListeners.forEach((l) => l(s)) };
}

describe('App shell', () => {
  it('has a nav entry per screen and follows the hash', async () => {
    const studio = new FakeStudio();
    render(<App connection={webConnection(studio, 'control').connection} />);
    for (const id of ['devices', 'composer', 'live', 'compare', 'history', 'presentation']) {
      expect(screen.getByTestId(`nav-${id}`).getAttribute('href')).toBe(`#/${id}`);
    }
    await screen.findByTestId('device-row');
    act(() => {
      window.location.hash = '#/history';
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    });
    await screen.findByRole('heading', { name: 'History' });
    expect(screen.getByTestId('nav-history').getAttribute('aria-current')).toBe('page');
  });

  it('re-reads the lists after the bridge reconnects (pushed events may have been missed)', async () => {
    const studio = new FakeStudio();
    const { connection, setStatus } = webConnection(studio, 'mirror');
    render(<App connection={connection} />);
    await screen.findByTestId('device-row');
    expect(screen.getByText('Read-only mirror')).toBeTruthy();
    const before = studio.callsOf('devices.list').length;
    act(() => setStatus('connecting'));
    act(() => setStatus('open'));
    await waitFor(() => expect(studio.callsOf('devices.list').length).toBeGreaterThan(before));
  });

  it('asks for the launch link when the page has no token', () => {
    render(<App connection={{ mode: 'web-without-token', api: null }} />);
    expect(screen.getByText(/Open the studio from its launch link/)).toBeTruthy();
  });
});
