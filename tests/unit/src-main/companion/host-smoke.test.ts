import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startCompanionHost, type CompanionHost } from '../../../../src-main/companion/host';
import {
  decodedPreview,
  downscaleRgb,
  fitSize,
  latentPreview,
} from '../../../../src-main/companion/engine-worker-preview';
import {
  applyProfileBudget,
  applyProfileLimit,
  isFullSizeModel,
  makeProfile,
  scaledIphoneLimit,
} from '../../../../src-main/companion/profiles';
import { decodeBinaryFrame } from '../../../../shared/protocol/binary-frame';
import type { DeviceMessage } from '../../../../shared/protocol/messages';
import { decodeDeviceText } from '../../../../shared/protocol/parse';
import { fixtureModelDir } from '../../../helpers/fixture-model-dir';
import { ensureCliBuilt } from '../../../helpers/odsora-cli';

describe('profiles', () => {
  it('scales the iPhone limit to the model and caps budgets', () => {
    expect(scaledIphoneLimit(25_040_000_000)).toBe(3_300_000_000);
    const p = makeProfile('iphone-15-pro', { blockBytes: 1_000_000 });
    expect(p).toMatchObject({ simulated: true, role: 'target', limitBytes: 131_789, limitKind: 'blocks' });
    expect(makeProfile('gpu', { blockBytes: 1 }).role).toBe('baseline');
    const params = { prompt: 'a', seed: 1 };
    expect(applyProfileBudget(params, 1000).cidl?.budget).toEqual({ kind: 'bytes', bytes: 1000 });
    expect(
      applyProfileBudget({ ...params, cidl: { budget: { kind: 'bytes', bytes: 5000 } } }, 1000).cidl?.budget,
    ).toEqual({ kind: 'bytes', bytes: 1000 });
    expect(applyProfileBudget(params, null)).toEqual(params);
    // A full-size Open-Sora v1.2 on the phone profile: the process gets the real 3.3 GB, unscaled.
    const full = makeProfile('iphone-15-pro', { blockBytes: 25e9, fullSize: true });
    expect(full).toMatchObject({ limitBytes: 3_300_000_000, limitKind: 'process' });
    expect(applyProfileLimit(params, { bytes: full.limitBytes, kind: full.limitKind }).cidl?.budget).toEqual({
      kind: 'process',
      limitBytes: 3_300_000_000,
    });
    expect(
      applyProfileLimit(
        { ...params, cidl: { budget: { kind: 'bytes', bytes: 5000 } } },
        { bytes: 3_300_000_000, kind: 'process' },
      ).cidl?.budget,
    ).toEqual({ kind: 'process', limitBytes: 3_300_000_000, cap: { kind: 'bytes', bytes: 5000 } });
    expect(makeProfile('desktop', { blockBytes: 1 }, null, 2e9)).toMatchObject({
      limitBytes: 2e9,
      limitKind: 'process',
    });
    expect(isFullSizeModel({ depth: 28, hidden_size: 1152 })).toBe(true);
    expect(isFullSizeModel({ depth: 2, hidden_size: 1152 })).toBe(false);
  });

  it('turns a latent into RGB preview frames', () => {
    const p = latentPreview({ dims: [4, 2, 2, 2], data: Float32Array.from({ length: 32 }, (_, i) => i) }, 16);
    expect(p).toMatchObject({ width: 16, height: 16 });
    expect(p.frames).toHaveLength(2);
    expect(p.frames[0]!.length).toBe(16 * 16 * 3);
  });

  it('shrinks decoded preview frames to maxEdgePx by area averaging, never enlarging them', () => {
    expect(fitSize(64, 64, 32)).toEqual({ width: 32, height: 32 });
    expect(fitSize(64, 32, 16)).toEqual({ width: 16, height: 8 });
    expect(fitSize(24, 16, 256)).toEqual({ width: 24, height: 16 });
    // 4×2 → 2×1: each output pixel averages a 2×2 block.
    const src = Uint8Array.from([
      0, 0, 0, 10, 20, 30, 100, 100, 100, 200, 200, 200, 0, 0, 0, 10, 20, 31, 100, 100, 100, 201, 201, 201,
    ]);
    expect(Array.from(downscaleRgb(src, 4, 2, { width: 2, height: 1 }))).toEqual([5, 10, 15, 150, 150, 150]);
    const frames = [new Uint8Array(64 * 64 * 3).fill(7), new Uint8Array(64 * 64 * 3).fill(9)];
    const p = decodedPreview({ width: 64, height: 64, frames }, 32);
    expect(p).toMatchObject({ width: 32, height: 32 });
    expect(p.frames.map((f) => [f.length, f[0]])).toEqual([
      [32 * 32 * 3, 7],
      [32 * 32 * 3, 9],
    ]);
    expect(decodedPreview({ width: 64, height: 64, frames }, 128).frames[0]).toBe(frames[0]);
  });
});

describe('odsora companion host (real sockets, fixture model)', () => {
  let host: CompanionHost;
  let dirs: string[] = [];

  beforeAll(async () => {
    // The companion's engine worker is out/cli/companion-engine-worker.cjs.
    ensureCliBuilt();
    const modelDir = fixtureModelDir();
    const data = mkdtempSync(join(tmpdir(), 'odsora-companion-'));
    const cache = mkdtempSync(join(tmpdir(), 'odsora-cache-'));
    dirs = [modelDir, data, cache];
    host = await startCompanionHost({
      models: modelDir,
      dataDir: data,
      cacheRoot: cache,
      profile: 'iphone-15-pro',
      port: 0,
      advertise: false,
      threads: 1,
    });
  });

  afterAll(async () => {
    await host?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('handshake → pair → run (3 steps) → run.finished, with previews and frames', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${host.port}/`);
    const got: (DeviceMessage | { binary: Uint8Array })[] = [];
    let wake: () => void = () => undefined;
    ws.on('message', (data, isBinary) => {
      const buf = data as Buffer;
      if (isBinary) got.push({ binary: new Uint8Array(buf) });
      else {
        const r = decodeDeviceText(buf.toString('utf8'));
        if (!r.ok) throw new Error(`invalid device message ${buf.toString('utf8')}`);
        got.push(r.message);
      }
      wake();
    });
    await new Promise((r) => ws.once('open', r));
    const waitFor = async <T extends DeviceMessage['type']>(
      type: T,
      pred: (m: Extract<DeviceMessage, { type: T }>) => boolean = () => true,
    ): Promise<Extract<DeviceMessage, { type: T }>> => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const hit = got.find((m) => 'type' in m && m.type === type && pred(m as never));
        if (hit) return hit as Extract<DeviceMessage, { type: T }>;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${type}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 100);
        });
      }
    };
    const send = (m: unknown): void => ws.send(JSON.stringify(m));
    send({ type: 'hello', protocolVersion: 1, clientId: 'smoke', clientName: 'Smoke test' });
    const welcome = await waitFor('welcome');
    expect(welcome.device).toMatchObject({ model: 'iphone-15-pro', simulated: true, platform: 'node' });
    expect(welcome.device.memory.limitBytes).toBeGreaterThan(0);
    await waitFor('auth.challenge');
    send({ type: 'pair.request', id: 1, code: host.pairingCode });
    await waitFor('pair.ok');
    send({
      type: 'run.start',
      id: 2,
      params: { prompt: 'a red ball', seed: 7, steps: 3 },
      preview: { everySteps: 1, maxEdgePx: 32, format: 'image-rgb8' },
    });
    const { runId } = await waitFor('run.accepted');
    send({ type: 'run.subscribe', id: 3, runId, fromSeq: 1 });
    const end = await waitFor(
      'run.event',
      (m) => m.event.type === 'run.finished' || m.event.type === 'run.failed',
    );
    expect(end.event, JSON.stringify(end.event)).toMatchObject({ type: 'run.finished', stepsRun: 3 });
    const events = got.flatMap((m) => ('type' in m && m.type === 'run.event' ? [m] : []));
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.some((e) => e.event.type === 'plan')).toBe(true);
    const ready = events.flatMap((e) => (e.event.type === 'preview.ready' ? [e.event] : []));
    expect(ready.map((e) => e.step)).toEqual([0, 1, 2]);
    // One frame per latent frame (17 frames → 5 latents), 64×64 shrunk to fit 32 px.
    for (const e of ready)
      expect(e).toMatchObject({ frames: 5, width: 32, height: 32, format: 'image-rgb8' });
    const previews = got
      .flatMap((m) => ('binary' in m ? [decodeBinaryFrame(m.binary)] : []))
      .filter((d) => d.ok && d.frame.purpose === 'preview');
    expect(previews.length).toBeGreaterThanOrEqual(3);
    send({ type: 'frames.get', id: 4, runId, from: 0, count: 2, format: 'png' });
    const frames = await waitFor('frames');
    expect(frames).toMatchObject({ count: 2, width: 64, height: 64 });
    ws.close();
  });
});
