// The web studio's WebSocket bridge over real loopback sockets: contract envelopes both ways, pushed events,
// upgrade authentication (token, mirror token, Host, Origin), the read-only mirror, malformed and random frames,
// frame size and rate limits.
import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { StudioEvent } from '../../../../shared/protocol/studio-contract';
import { createBridgeClient, createStudioClient, type BridgeSocket } from '../../../../src-renderer/api';
import { bridgeHarness, bridgeUrl, device, run, upgradeStatus, type Peer } from './ws-bridge-harness';

describe('web studio WebSocket bridge', () => {
  const h = bridgeHarness();

  it('prints a separate read-only mirror URL with its own token', () => {
    expect(h.studio.mirrorUrl).toBe(`http://127.0.0.1:${h.studio.port}/?mirror=${h.studio.mirrorToken}`);
    expect(h.studio.mirrorToken).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(h.studio.mirrorToken).not.toBe(h.studio.token);
  });

  it('answers contract calls with { id, ok, result | error }', async () => {
    const p = await h.control();
    const info = await p.call('app.info');
    expect(info).toMatchObject({ id: 1000, ok: true, result: { appVersion: '1.2.3', platform: 'web' } });
    expect(await p.call('devices.list')).toMatchObject({ ok: true, result: { devices: [device] } });
    expect(await p.call('runs.list')).toMatchObject({ ok: true, result: { runs: [run] } });
    const bad = await p.call('devices.pair', { deviceId: 'builtin', code: '12' });
    expect(bad).toMatchObject({ ok: false, error: { code: 'bad-args' } });
    if (!bad.ok) expect(bad.error.message).toContain('code');
    expect(await p.call('devices.pair', { deviceId: 'builtin', code: '123456' })).toMatchObject({
      ok: true,
      result: { device: { status: 'paired' } },
    });
    expect(await p.call('app.format-disk')).toMatchObject({ ok: false, error: { code: 'unknown-command' } });
  });

  it('pushes every service event to control and mirror connections', async () => {
    const c = await h.control();
    const m = await h.mirror();
    const valid: StudioEvent[] = [
      { type: 'devices.changed', devices: [device] },
      { type: 'run.event', runId: 'r-1', seq: 1, event: { type: 'run.started', atMs: 12 } },
      { type: 'run.updated', run },
    ];
    for (const e of valid) h.fake.emit(e);
    await c.until(() => c.events.length === valid.length, 'events on the control connection');
    await m.until(() => m.events.length === valid.length, 'events on the mirror');
    expect(c.events).toEqual(valid);
    expect(m.events).toEqual(valid);
  });

  it('refuses an upgrade without the token, with a wrong one, or with the other token in the wrong place', async () => {
    const s = h.studio;
    expect(await upgradeStatus(bridgeUrl(s, ''))).toBe(401);
    expect(await upgradeStatus(bridgeUrl(s, `token=${'x'.repeat(32)}`))).toBe(401);
    expect(await upgradeStatus(bridgeUrl(s, `token=${s.token.slice(1)}`))).toBe(401);
    expect(await upgradeStatus(bridgeUrl(s, `mirror=${s.token}`))).toBe(401);
    expect(await upgradeStatus(bridgeUrl(s, `token=${s.mirrorToken}`))).toBe(401);
    expect(await upgradeStatus(bridgeUrl(s, `token=${s.token}&mirror=${s.mirrorToken}`))).toBe(401);
    expect(await upgradeStatus(bridgeUrl(s, `token=${s.token}&token=${s.token}`))).toBe(401);
    expect(await upgradeStatus(`ws://127.0.0.1:${s.port}/elsewhere?token=${s.token}`)).toBe(404);
    expect(await upgradeStatus(bridgeUrl(s, `token=${s.token}`), { origin: s.origin })).toBe(101);
    expect(await upgradeStatus(bridgeUrl(s, `token=${s.token}`))).toBe(101);
  });

  it('refuses a foreign Origin, a cross-site fetch and a foreign Host at upgrade, even with the token', async () => {
    const url = bridgeUrl(h.studio, `token=${h.studio.token}`);
    expect(await upgradeStatus(url, { origin: 'https://evil.example' })).toBe(403);
    expect(await upgradeStatus(url, { origin: 'http://127.0.0.1:1' })).toBe(403);
    expect(await upgradeStatus(url, { origin: 'null' })).toBe(403);
    expect(await upgradeStatus(url, { headers: { 'Sec-Fetch-Site': 'cross-site' } })).toBe(403);
    expect(await upgradeStatus(url, { headers: { Host: `rebind.example:${h.studio.port}` } })).toBe(403);
    const mirrorUrl = bridgeUrl(h.studio, `mirror=${h.studio.mirrorToken}`);
    expect(await upgradeStatus(mirrorUrl, { origin: 'https://evil.example' })).toBe(403);
  });

  it('lets the mirror read but answers forbidden to every mutating command, which never runs', async () => {
    const m = await h.mirror();
    expect(await m.call('app.info')).toMatchObject({ ok: true, result: { platform: 'web' } });
    expect(await m.call('devices.list')).toMatchObject({ ok: true, result: { devices: [device] } });
    expect(await m.call('runs.list')).toMatchObject({ ok: true, result: { runs: [run] } });
    const before = h.fake.mutations.length;
    const calls: [string, unknown][] = [
      ['devices.pair', { deviceId: 'builtin', code: '123456' }],
      ['runs.start', { deviceId: 'builtin', params: { prompt: 'a cat', seed: 1, steps: 3 } }],
      ['runs.cancel', { runId: 'r-1' }],
      ['devices.addManual', { host: '127.0.0.1', port: 9 }],
      ['devices.requestPairingCode', { deviceId: 'builtin' }],
      ['devices.forget', { deviceId: 'builtin' }],
      ['devices.setBaseline', { deviceId: 'builtin' }],
      ['devices.pair', 'not even valid args'],
    ];
    for (const [command, args] of calls) {
      const reply = await m.call(command, args);
      expect(reply, command).toMatchObject({ ok: false, error: { code: 'forbidden', retryable: false } });
    }
    expect(h.fake.mutations.length).toBe(before);
    expect(await m.call('app.format-disk')).toMatchObject({ ok: false, error: { code: 'unknown-command' } });
  });

  it('does not accept the mirror token on the HTTP API', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: h.studio.port,
          method: 'POST',
          path: '/api/devices.list',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${h.studio.mirrorToken}` },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end('{}');
    });
    expect(status).toBe(401);
  });

  it('answers malformed frames with a typed error and keeps the connection usable', async () => {
    const p = await h.control();
    const cases: [string | Buffer, boolean, number | null, string][] = [
      ['not json', false, null, 'bad-request'],
      ['', false, null, 'bad-request'],
      ['[]', false, null, 'bad-request'],
      ['null', false, null, 'bad-request'],
      ['{"id":7}', false, 7, 'bad-request'],
      ['{"id":-1,"command":"app.info","args":{}}', false, null, 'bad-request'],
      ['{"id":1.5,"command":"app.info","args":{}}', false, null, 'bad-request'],
      ['{"id":"8","command":"app.info","args":{}}', false, null, 'bad-request'],
      ['{"id":9,"command":"app.info","args":{},"extra":1}', false, 9, 'bad-request'],
      ['{"id":10,"command":"","args":{}}', false, 10, 'bad-request'],
      ['{"id":11,"command":"app.info","args":{"verbose":true}}', false, 11, 'bad-args'],
      ['{"id":12,"command":"__proto__","args":{}}', false, 12, 'unknown-command'],
      ['{"id":13,"command":"constructor","args":{}}', false, 13, 'unknown-command'],
      [Buffer.from([0, 1, 2, 255]), true, null, 'bad-request'],
    ];
    for (const [frame, binary, id, code] of cases) {
      const reply = await p.sendRaw(frame, binary);
      expect(reply, String(frame)).toMatchObject({ id, ok: false, error: { code } });
      expect(await p.call('app.info'), `after ${String(frame)}`).toMatchObject({ ok: true });
    }
    expect(p.junk).toEqual([]);
  });

  it('survives 1,000 random frames, answering each with a valid envelope', async () => {
    const s = await h.start({ ratePerSecond: 1e6, rateBurst: 1e6 });
    try {
      const p = await h.control(s);
      let seed = 0x5eed;
      const rand = (n: number): number => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % n;
      };
      const commands = ['app.info', 'devices.list', 'runs.list', 'devices.pair', 'runs.start', 'x', ''];
      const value = (depth: number): unknown => {
        switch (rand(depth > 2 ? 6 : 8)) {
          case 0:
            return null;
          case 1:
            return rand(2) === 0;
          case 2:
            return [-1, 0, 1.5, 2 ** 53, -(2 ** 60), 1e308][rand(6)];
          case 3:
            return 'é\u0000\u{1F600}'.repeat(rand(5));
          case 4:
            return commands[rand(commands.length)];
          case 5:
            return rand(1000);
          case 6:
            return Array.from({ length: rand(4) }, () => value(depth + 1));
          default: {
            const o: Record<string, unknown> = {};
            for (const k of ['id', 'command', 'args', 'deviceId', 'code', '__proto__', 'event'].slice(
              0,
              rand(7),
            ))
              o[k] = value(depth + 1);
            return o;
          }
        }
      };
      const frames = 1000;
      for (let i = 0; i < frames; i++) {
        const kind = rand(5);
        if (kind === 0) {
          p.ws.send(Buffer.from(Array.from({ length: rand(64) }, () => rand(256))), { binary: true });
        } else if (kind === 1) {
          p.ws.send(JSON.stringify(value(0)).slice(0, rand(40) + 1));
        } else if (kind === 2) {
          p.ws.send(
            JSON.stringify({ id: rand(1_000_000), command: commands[rand(commands.length)], args: value(1) }),
          );
        } else {
          p.ws.send(JSON.stringify(value(0)));
        }
      }
      await p.until(() => p.responses.length >= frames, '1,000 answers', 20_000);
      expect(p.responses.length).toBe(frames);
      expect(p.junk).toEqual([]);
      expect(await p.call('app.info')).toMatchObject({ ok: true });
      // A fresh connection works too.
      const again = await h.control(s);
      expect(await again.call('devices.list')).toMatchObject({ ok: true });
    } finally {
      await s.close();
    }
  });

  it('closes a connection that sends an oversized frame (1009) and keeps serving others', async () => {
    const p = await h.control();
    const closed = p.closed();
    p.ws.send(JSON.stringify({ id: 1, command: 'app.info', args: { pad: 'x'.repeat(300 * 1024) } }));
    expect(await closed).toBe(1009);
    const q = await h.control();
    expect(await q.call('app.info')).toMatchObject({ ok: true });
  });

  it('keeps the owner in however many mirror connections the mirror link opens (mirrors have their own quota)', async () => {
    const s = await h.start();
    try {
      const mirrors: Peer[] = [];
      const codes: number[] = [];
      for (let i = 0; i < 40; i++) {
        const m = await h.mirror(s);
        m.ws.on('close', (code) => codes.push(code));
        mirrors.push(m);
      }
      // Each mirror over the quota took the place of the longest-idle one.
      await mirrors[0]!.until(() => codes.length === 40 - 16, 'the displaced mirrors to close');
      expect(new Set(codes)).toEqual(new Set([1013]));
      expect(mirrors.slice(40 - 16).every((m) => m.ws.readyState === WebSocket.OPEN)).toBe(true);
      // The owner still gets in and is served, as often as it connects.
      for (let i = 0; i < 3; i++)
        expect(await (await h.control(s)).call('app.info')).toMatchObject({ ok: true });
      expect(mirrors.slice(40 - 16).every((m) => m.ws.readyState === WebSocket.OPEN)).toBe(true);
    } finally {
      await s.close();
    }
  });

  it('over a quota, replaces the longest-idle connection of the same role (1013), never one of the other role', async () => {
    const s = await h.start({ maxControlConnections: 2, maxMirrorConnections: 2 });
    try {
      const c1 = await h.control(s);
      const c2 = await h.control(s);
      const m1 = await h.mirror(s);
      const m2 = await h.mirror(s);
      await c1.call('app.info'); // c2 is now the idle one
      const c2Closed = c2.closed();
      const c3 = await h.control(s);
      expect(await c2Closed).toBe(1013);
      expect(await c3.call('app.info')).toMatchObject({ ok: true });
      expect(await c1.call('app.info')).toMatchObject({ ok: true });
      expect([m1, m2].every((m) => m.ws.readyState === WebSocket.OPEN)).toBe(true);

      await m1.call('runs.list'); // m2 is now the idle one
      const m2Closed = m2.closed();
      const m3 = await h.mirror(s);
      expect(await m2Closed).toBe(1013);
      expect(await m3.call('runs.list')).toMatchObject({ ok: true });
      expect([c1, c3, m1].every((p) => p.ws.readyState === WebSocket.OPEN)).toBe(true);
    } finally {
      await s.close();
    }
  });

  it('rate-limits a connection: retryable unavailable, then closes a client that keeps flooding', async () => {
    const s = await h.start({ ratePerSecond: 0.001, rateBurst: 5 });
    try {
      const p = await h.control(s);
      for (let i = 1; i <= 10; i++) p.ws.send(JSON.stringify({ id: i, command: 'app.info', args: {} }));
      await p.until(() => p.responses.length === 10, '10 answers');
      expect(p.responses.filter((r) => r.ok)).toHaveLength(5);
      const refused = p.responses.filter((r) => !r.ok);
      expect(refused).toHaveLength(5);
      for (const r of refused) expect(r).toMatchObject({ error: { code: 'unavailable', retryable: true } });
      const closed = p.closed();
      p.ws.send(JSON.stringify({ id: 11, command: 'app.info', args: {} }));
      expect(await closed).toBe(1008);

      // Closing the h.studio closes its bridge connections with 1001 (going away).
      const other = await h.control(s);
      const goingAway = other.closed();
      await s.close();
      expect(await goingAway).toBe(1001);
    } finally {
      await s.close().catch(() => undefined);
    }
  });

  it('serves the renderer’s bridge client: calls, pushed events, reconnect after a dropped socket', async () => {
    let last: WebSocket | null = null;
    const client = createBridgeClient({
      url: bridgeUrl(h.studio, `token=${h.studio.token}`),
      reconnectDelayMs: { min: 20, max: 100 },
      createSocket: (url, on): BridgeSocket => {
        const ws = new WebSocket(url, { origin: h.studio.origin });
        ws.on('open', () => on.open());
        ws.on('message', (data, isBinary) => on.message(isBinary ? data : String(data)));
        ws.on('close', (code) => on.close(code));
        ws.on('error', () => undefined);
        last = ws;
        return ws;
      },
    });
    try {
      const api = createStudioClient(client.transport);
      // Sent before the socket is open: queued, then delivered.
      expect(await api.appInfo()).toMatchObject({ appVersion: '1.2.3', platform: 'web' });
      expect(await api.listRuns()).toEqual({ runs: [run], unreadable: [] });
      await expect(api.pairDevice({ deviceId: 'builtin', code: '12' })).rejects.toMatchObject({
        error: { code: 'bad-args' },
      });

      const seen: StudioEvent[] = [];
      client.onEvent((e) => seen.push(e));
      h.fake.emit({ type: 'run.updated', run });
      const deadline = Date.now() + 5000;
      while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(seen).toEqual([{ type: 'run.updated', run }]);

      const statuses: string[] = [];
      client.onStatus((st) => statuses.push(st));
      (last as WebSocket | null)?.terminate();
      const until = Date.now() + 5000;
      while (!statuses.includes('open') && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      expect(statuses).toEqual(['connecting', 'open']);
      expect(await api.listDevices()).toEqual({ devices: [device] });
    } finally {
      client.close();
    }
    expect(client.status).toBe('closed');
  });

  it('makes the renderer’s mirror client refuse mutating calls locally with forbidden', async () => {
    const client = createBridgeClient({
      url: bridgeUrl(h.studio, `mirror=${h.studio.mirrorToken}`),
      role: 'mirror',
      createSocket: (url, on): BridgeSocket => {
        const ws = new WebSocket(url, { origin: h.studio.origin });
        ws.on('open', () => on.open());
        ws.on('message', (data) => on.message(String(data)));
        ws.on('close', (code) => on.close(code));
        ws.on('error', () => undefined);
        return ws;
      },
    });
    try {
      const api = createStudioClient(client.transport);
      expect(await api.listDevices()).toEqual({ devices: [device] });
      await expect(
        api.startRun({ deviceId: 'builtin', params: { prompt: 'a cat', seed: 1, steps: 3 } }),
      ).rejects.toMatchObject({ error: { code: 'forbidden' } });
    } finally {
      client.close();
    }
  });
});
