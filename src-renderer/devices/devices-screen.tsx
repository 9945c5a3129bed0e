// Devices: every device the studio knows (discovered, manual, built-in) with status and diagnostics; pairing with
// the code the device shows; manual host:port; the baseline choice; forget.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { StudioDevice } from '../../shared/protocol/studio-contract';
import { thermalLabel } from '../../shared/protocol/thermal';
import { errorText } from '../studio/format';
import { devicesQuery, studioKeys } from '../studio/queries';
import { useStudio } from '../studio/studio-context';
import { deviceDistinctions, deviceLabel } from './device-labels';

function yesNo(v: boolean | null): string {
  return v === null ? 'not known yet' : v ? 'yes' : 'no';
}

function Diagnostics({ device }: { device: StudioDevice }) {
  const d = device.diagnostics;
  return (
    <dl className="diagnostics" data-testid="diagnostics">
      <dt>Seen over mDNS</dt>
      <dd>{yesNo(d.seenOverMdns)}</dd>
      <dt>Port reachable</dt>
      <dd>
        {yesNo(d.portReachable)} ({device.host || '—'}:{device.port || '—'})
      </dd>
      <dt>Protocol version</dt>
      <dd>{d.protocolVersion ?? 'not known yet'}</dd>
      <dt>Paired</dt>
      <dd>{yesNo(d.paired)}</dd>
      <dt>Last error</dt>
      <dd className={d.lastError !== null ? 'error' : undefined}>{d.lastError ?? 'none'}</dd>
    </dl>
  );
}

function DeviceRow({ device, distinction }: { device: StudioDevice; distinction: string | null }) {
  const { api, readOnly } = useStudio();
  const client = useQueryClient();
  const [code, setCode] = useState('');
  const [hint, setHint] = useState<string | null>(null);
  const refresh = (): void => void client.invalidateQueries({ queryKey: studioKeys.devices });
  const request = useMutation({
    mutationFn: () => api.requestPairingCode({ deviceId: device.id }),
    onSuccess: (r) =>
      setHint(`The device now shows a ${r.digits}-digit code (valid ${Math.round(r.expiresInMs / 1000)} s).`),
  });
  const pair = useMutation({
    mutationFn: () => api.pairDevice({ deviceId: device.id, code }),
    onSuccess: refresh,
  });
  const baseline = useMutation({
    mutationFn: () => api.setBaselineDevice({ deviceId: device.id }),
    onSuccess: refresh,
  });
  const forget = useMutation({
    mutationFn: () => api.forgetDevice({ deviceId: device.id }),
    onSuccess: refresh,
  });
  const failed = [request, pair, baseline, forget].find((m) => m.isError);
  const sources = Object.entries(device.sources)
    .filter(([, on]) => on)
    .map(([s]) => s)
    .join(', ');
  return (
    <article
      className="card device"
      data-testid="device-row"
      data-device-id={device.id}
      data-status={device.status}
      data-baseline={String(device.baseline)}
    >
      <header>
        <h2>
          {device.name}{' '}
          {distinction !== null && (
            <span className="device-distinction" data-testid="device-distinction">
              {distinction}
            </span>
          )}{' '}
          {device.baseline && <span className="badge">baseline device</span>}
        </h2>
        <p className="muted">
          {device.model} · {device.role}
          {device.simulated ? ' · simulated' : ''} · engine {device.engineVersion ?? '?'} · via {sources} ·{' '}
          <span data-testid="device-thermal" data-thermal={thermalLabel(device.thermalState)}>
            thermal {thermalLabel(device.thermalState)}
          </span>
        </p>
        <span className={`state-badge status-${device.status}`}>{device.status}</span>
      </header>
      {!readOnly && (
        <div className="device-actions">
          {device.status !== 'paired' && (
            <form
              className="pair-form"
              onSubmit={(e) => {
                e.preventDefault();
                pair.mutate();
              }}
            >
              <button
                type="button"
                data-testid="request-code"
                onClick={() => request.mutate()}
                disabled={request.isPending}
              >
                Show a code on the device
              </button>
              <input
                data-testid="pair-code-input"
                inputMode="numeric"
                autoComplete="one-time-code"
                placeholder="code"
                aria-label={`Pairing code for ${deviceLabel(device, distinction)}`}
                value={code}
                onChange={(e) => setCode(e.target.value.replace(/\D/g, ''))}
              />
              <button type="submit" data-testid="pair-button" disabled={code === '' || pair.isPending}>
                Pair
              </button>
            </form>
          )}
          {!device.baseline && (
            <button
              type="button"
              data-testid="set-baseline"
              onClick={() => baseline.mutate()}
              disabled={baseline.isPending}
            >
              Use as baseline
            </button>
          )}
          <button
            type="button"
            data-testid="forget-device"
            onClick={() => forget.mutate()}
            disabled={forget.isPending}
          >
            Forget
          </button>
        </div>
      )}
      {hint !== null && device.status !== 'paired' && <p className="muted">{hint}</p>}
      {failed !== undefined && (
        <p className="error" role="alert">
          {errorText(failed.error)}
        </p>
      )}
      <details open={device.status === 'error' || undefined}>
        <summary>Diagnostics</summary>
        <Diagnostics device={device} />
      </details>
    </article>
  );
}

function ManualAdd() {
  const { api } = useStudio();
  const client = useQueryClient();
  const [host, setHost] = useState('127.0.0.1');
  const [port, setPort] = useState('');
  const add = useMutation({
    mutationFn: () => api.addManualDevice({ host: host.trim(), port: Number(port) }),
    onSuccess: () => void client.invalidateQueries({ queryKey: studioKeys.devices }),
  });
  return (
    <form
      className="manual-add card"
      onSubmit={(e) => {
        e.preventDefault();
        add.mutate();
      }}
    >
      <h2>Add a device by address</h2>
      <p className="muted">
        For networks where mDNS (Bonjour) does not get through: the address and port the companion shows.
      </p>
      <input
        data-testid="manual-host"
        aria-label="Host"
        value={host}
        onChange={(e) => setHost(e.target.value)}
      />
      <input
        data-testid="manual-port"
        aria-label="Port"
        type="number"
        min={1}
        max={65535}
        placeholder="port"
        value={port}
        onChange={(e) => setPort(e.target.value)}
      />
      <button type="submit" data-testid="manual-add" disabled={add.isPending}>
        Add
      </button>
      {add.isError && (
        <p className="error" role="alert">
          {errorText(add.error)}
        </p>
      )}
    </form>
  );
}

/** The Devices screen. */
export function DevicesScreen() {
  const { api, readOnly } = useStudio();
  const devices = useQuery(devicesQuery(api));
  const list = devices.data?.devices ?? [];
  const distinctions = deviceDistinctions(list);
  return (
    <section className="screen" aria-labelledby="screen-devices">
      <header className="screen-header">
        <h1 id="screen-devices">Devices</h1>
        <p className="screen-summary">
          Phones running the companion, the built-in simulated device and the baseline machine.
        </p>
      </header>
      {devices.isPending && <p className="muted">Looking for devices…</p>}
      {devices.isError && <p className="error">{errorText(devices.error)}</p>}
      {devices.isSuccess && list.length === 0 && <p className="muted">No device found yet.</p>}
      <div className="device-list">
        {list.map((d) => (
          <DeviceRow key={d.id} device={d} distinction={distinctions.get(d.id) ?? null} />
        ))}
      </div>
      {!readOnly && <ManualAdd />}
    </section>
  );
}
