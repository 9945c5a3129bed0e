// @vitest-environment happy-dom
import { act, cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { DevicesScreen } from '../../../../src-renderer/devices/devices-screen';
import { FakeStudio, fakeDevice, renderWithStudio } from '../helpers/fake-studio';

afterEach(cleanup);

function phone() {
  return fakeDevice({
    id: 'phone-1',
    name: 'Ana’s iPhone',
    simulated: false,
    status: 'connected',
    sources: { builtin: false, discovered: true, manual: false },
    diagnostics: {
      seenOverMdns: true,
      portReachable: true,
      protocolVersion: 1,
      paired: false,
      lastError: null,
    },
  });
}

describe('Devices', () => {
  it('lists each device with status and baseline flag, and pairs with the typed code', async () => {
    const studio = new FakeStudio();
    studio.devices = [fakeDevice({ baseline: true, role: 'baseline' }), phone()];
    studio.overrides['devices.requestPairingCode'] = () => ({ digits: 6, expiresInMs: 60_000 });
    studio.overrides['devices.pair'] = ({ deviceId }) => {
      const device = { ...phone(), status: 'paired' as const };
      studio.devices = [studio.devices[0] ?? fakeDevice(), device];
      return { device: { ...device, id: deviceId } };
    };
    renderWithStudio(<DevicesScreen />, studio);
    const rows = await screen.findAllByTestId('device-row');
    expect(rows.map((r) => [r.dataset.deviceId, r.dataset.status, r.dataset.baseline])).toEqual([
      ['builtin', 'paired', 'true'],
      ['phone-1', 'connected', 'false'],
    ]);
    const row = within(rows[1] as HTMLElement);
    await act(async () => fireEvent.click(row.getByTestId('request-code')));
    await screen.findByText(/shows a 6-digit code/);
    fireEvent.change(row.getByTestId('pair-code-input'), { target: { value: '12 34-56' } });
    await act(async () => fireEvent.click(row.getByTestId('pair-button')));
    await waitFor(() =>
      expect(studio.callsOf('devices.pair')).toEqual([{ deviceId: 'phone-1', code: '123456' }]),
    );
    await waitFor(() =>
      expect(screen.getAllByTestId('device-row')[1]?.getAttribute('data-status')).toBe('paired'),
    );
  });

  it('follows pushed device changes and shows the diagnostics, including the last error', async () => {
    const studio = new FakeStudio();
    renderWithStudio(<DevicesScreen />, studio);
    await screen.findByTestId('device-row');
    const broken = fakeDevice({
      id: 'manual-10.0.0.9-4100',
      name: '10.0.0.9:4100',
      status: 'error',
      sources: { builtin: false, discovered: false, manual: true },
      diagnostics: {
        seenOverMdns: false,
        portReachable: false,
        protocolVersion: null,
        paired: false,
        lastError: 'ECONNREFUSED',
      },
    });
    act(() => studio.push({ type: 'devices.changed', devices: [fakeDevice(), broken] }));
    await waitFor(() => expect(screen.getAllByTestId('device-row')).toHaveLength(2));
    const rows = screen.getAllByTestId('device-row');
    const diag = within(rows[1] as HTMLElement).getByTestId('diagnostics');
    expect(diag.textContent).toMatch(/Seen over mDNSno/);
    expect(diag.textContent).toMatch(/Port reachableno/);
    expect(diag.textContent).toContain('ECONNREFUSED');
  });

  it('shows each device’s thermal state and follows its changes', async () => {
    const studio = new FakeStudio();
    studio.devices = [fakeDevice({ thermalState: 'nominal' })];
    renderWithStudio(<DevicesScreen />, studio);
    const thermal = await screen.findByTestId('device-thermal');
    expect(thermal.textContent).toBe('thermal nominal');
    act(() => studio.push({ type: 'devices.changed', devices: [fakeDevice({ thermalState: 'serious' })] }));
    await waitFor(() => expect(screen.getByTestId('device-thermal').textContent).toBe('thermal serious'));
    act(() => studio.push({ type: 'devices.changed', devices: [fakeDevice({ thermalState: null })] }));
    await waitFor(() => expect(screen.getByTestId('device-thermal').textContent).toBe('thermal unknown'));
  });

  it('tells devices with the same name apart by where they are and the end of their id', async () => {
    const studio = new FakeStudio();
    const twin = (id: string, deviceId: string, host: string) =>
      fakeDevice({
        id,
        deviceId,
        name: 'lab-phone',
        host,
        port: 7400,
        status: 'connected',
        sources: { builtin: false, discovered: true, manual: false },
      });
    studio.devices = [
      fakeDevice({ name: 'Built-in iPhone 15 Pro (simulated)', deviceId: 'dev-0a1b2c3d4e5f' }),
      twin('dev-111111aaaaaa', 'dev-111111aaaaaa', '192.168.1.20'),
      twin('dev-222222bbbbbb', 'dev-222222bbbbbb', '192.168.1.31'),
      fakeDevice({
        id: 'dev-333333cccccc',
        deviceId: 'dev-333333cccccc',
        name: 'Built-in iPhone 15 Pro (simulated)',
        sources: { builtin: false, discovered: true, manual: false },
        status: 'connected',
      }),
    ];
    renderWithStudio(<DevicesScreen />, studio);
    await waitFor(() => expect(screen.getAllByTestId('device-row')).toHaveLength(4));
    const shown = screen
      .getAllByTestId('device-row')
      .map((r) => within(r).queryByTestId('device-distinction')?.textContent ?? null);
    expect(shown).toEqual([
      'built in · id …3d4e5f',
      '192.168.1.20:7400 · id …aaaaaa',
      '192.168.1.31:7400 · id …bbbbbb',
      '127.0.0.1:4100 · id …cccccc',
    ]);
    // A name nobody else has stays as it is.
    act(() => studio.push({ type: 'devices.changed', devices: [phone()] }));
    await waitFor(() => expect(screen.getAllByTestId('device-row')).toHaveLength(1));
    expect(screen.queryByTestId('device-distinction')).toBeNull();
  });

  it('adds a manual host:port and rejects a bad host before sending', async () => {
    const studio = new FakeStudio();
    studio.overrides['devices.addManual'] = ({ host, port }) => ({
      device: fakeDevice({ id: `manual-${host}-${port}`, status: 'connecting' }),
    });
    renderWithStudio(<DevicesScreen />, studio);
    fireEvent.change(screen.getByTestId('manual-host'), { target: { value: 'http://phone/' } });
    fireEvent.change(screen.getByTestId('manual-port'), { target: { value: '4100' } });
    await act(async () => fireEvent.click(screen.getByTestId('manual-add')));
    expect((await screen.findByRole('alert')).textContent).toMatch(/host: must be a host name or IP address/);
    expect(studio.callsOf('devices.addManual')).toHaveLength(0); // refused by the contract schema, never sent
    fireEvent.change(screen.getByTestId('manual-host'), { target: { value: '127.0.0.1' } });
    await act(async () => fireEvent.click(screen.getByTestId('manual-add')));
    await waitFor(() =>
      expect(studio.callsOf('devices.addManual')).toEqual([{ host: '127.0.0.1', port: 4100 }]),
    );
  });

  it('shows no controls on the read-only mirror', async () => {
    const studio = new FakeStudio();
    studio.devices = [phone()];
    renderWithStudio(<DevicesScreen />, studio, { readOnly: true });
    await screen.findByTestId('device-row');
    for (const id of [
      'pair-button',
      'pair-code-input',
      'request-code',
      'set-baseline',
      'forget-device',
      'manual-add',
    ]) {
      expect(screen.queryByTestId(id)).toBeNull();
    }
  });
});
