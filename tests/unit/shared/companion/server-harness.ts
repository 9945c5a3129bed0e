// Shared harness of the CompanionServer unit tests (server.test.ts, server-streams.test.ts): in-memory stores, a
// scripted engine runner, a protocol client and setup helpers.
import { createHmac, randomBytes } from 'node:crypto';
import {
  CompanionServer,
  type CompanionServerOptions,
  type Connection,
  type EngineJob,
  type EngineRunResult,
  type EngineRunner,
  type RunStore,
  type StoredRunMeta,
} from '../../../../shared/companion/server';
import type { PairedKeyRecord, PairingStore } from '../../../../shared/companion/pairing';
import { type HmacSha256 } from '../../../../shared/protocol/auth';
import type { DeviceInfo } from '../../../../shared/protocol/device';
import type { DeviceMessage } from '../../../../shared/protocol/messages';
import { decodeDeviceText } from '../../../../shared/protocol/parse';

export const hmac: HmacSha256 = async (key, message) => createHmac('sha256', key).update(message).digest();

export const device: DeviceInfo = {
  id: 'dev-1',
  name: 'Test device',
  model: 'iphone-15-pro',
  role: 'target',
  simulated: true,
  platform: 'node',
  engineVersion: '0.1.0',
  protocol: { min: 1, max: 1 },
  memory: { limitBytes: null, availableBytes: null },
  thermalState: null,
  backends: [],
  blockSets: [],
};

export class MemoryRunStore implements RunStore {
  readonly lines = new Map<string, string[]>();
  readonly metas: StoredRunMeta[] = [];
  async appendLines(runId: string, lines: readonly string[]): Promise<void> {
    this.lines.set(runId, [...(this.lines.get(runId) ?? []), ...lines]);
  }
  async readText(runId: string): Promise<string> {
    return (this.lines.get(runId) ?? []).map((l) => `${l}\n`).join('');
  }
  async replaceLines(runId: string, lines: readonly string[]): Promise<void> {
    this.lines.set(runId, [...lines]);
  }
  async listRuns(): Promise<StoredRunMeta[]> {
    return [...this.metas];
  }
  async saveRun(meta: StoredRunMeta): Promise<void> {
    this.metas.push(meta);
  }
}

export class MemoryPairingStore implements PairingStore {
  readonly records = new Map<string, PairedKeyRecord>();
  async list(): Promise<PairedKeyRecord[]> {
    return [...this.records.values()];
  }
  async put(r: PairedKeyRecord): Promise<void> {
    this.records.set(r.keyId, r);
  }
  async remove(keyId: string): Promise<void> {
    this.records.delete(keyId);
  }
}

/** A fake engine: `steps` steps, each waiting for `release()` when gated; previews every N steps. */
export class FakeRunner implements EngineRunner {
  readonly started: string[] = [];
  private gates: (() => void)[] = [];
  gated = false;
  failWith: Error | null = null;

  release(): void {
    for (const g of this.gates.splice(0)) g();
  }

  validate(params: { steps?: number }): { ok: true } | { ok: false; field: string; message: string } {
    return params.steps !== undefined && params.steps > 50
      ? { ok: false, field: 'steps', message: 'too many steps for the fake' }
      : { ok: true };
  }

  async run(job: EngineJob): Promise<EngineRunResult> {
    this.started.push(job.runId);
    const steps = job.params.steps ?? 3;
    job.emit({ type: 'stage.start', atMs: 0, stage: 'denoise' });
    for (let step = 0; step < steps; step++) {
      if (this.gated) await new Promise<void>((r) => this.gates.push(r));
      if (job.signal.aborted) throw Object.assign(new Error('aborted'), { name: 'AbortError' });
      job.emit({ type: 'step.start', atMs: step, step, t: 1000 - step, merged: false });
      job.emit({
        type: 'step.end',
        atMs: step,
        step,
        t: 1000 - step,
        latencyMs: 1,
        cosine: null,
        merged: false,
        leapt: false,
      });
      if (job.preview && (step + 1) % job.preview.everySteps === 0)
        job.emitPreview(step, {
          width: 2,
          height: 2,
          format: 'image-rgb8',
          frames: [new Uint8Array(12).fill(step), new Uint8Array(12)],
        });
    }
    if (this.failWith) throw this.failWith;
    return {
      width: 2,
      height: 2,
      fps: 24,
      stepsRun: steps,
      frames: [new Uint8Array(12).fill(1), new Uint8Array(12).fill(2), new Uint8Array(12).fill(3)],
      timings: { loadMs: 0, textMs: 0, denoiseMs: 0, decodeMs: 0, totalMs: 0 },
    };
  }
}

/** The client end of an in-memory connection. */
export class Client {
  readonly received: (DeviceMessage | { binary: Uint8Array })[] = [];
  closed: { code: number; reason: string } | null = null;
  private messageHandler: (d: string | Uint8Array) => void = () => undefined;
  private closeHandler: () => void = () => undefined;
  private waiters: (() => void)[] = [];
  key: { keyId: string; key: string } | null = null;

  constructor(server: CompanionServer) {
    const conn: Connection = {
      sendText: (text) => {
        const parsed = decodeDeviceText(text);
        if (!parsed.ok) throw new Error(`device sent an invalid message: ${text}`);
        this.received.push(parsed.message);
        this.wake();
      },
      sendBinary: (data) => {
        this.received.push({ binary: data.slice() });
        this.wake();
      },
      close: (code, reason) => {
        this.closed = { code, reason };
        this.wake();
      },
      onMessage: (h) => {
        this.messageHandler = h;
      },
      onClose: (h) => {
        this.closeHandler = h;
      },
    };
    server.accept(conn);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  send(message: unknown): void {
    this.messageHandler(typeof message === 'string' ? message : JSON.stringify(message));
  }

  sendBinary(data: Uint8Array): void {
    this.messageHandler(data);
  }

  disconnect(): void {
    this.closeHandler();
  }

  /** Waits until a message matching `pred` has arrived (at or after index `from`); returns it. */
  async waitFor<T extends DeviceMessage['type']>(
    type: T,
    pred: (m: Extract<DeviceMessage, { type: T }>) => boolean = () => true,
    timeoutMs = 2000,
  ): Promise<Extract<DeviceMessage, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.received.find(
        (m): m is Extract<DeviceMessage, { type: T }> =>
          'type' in m && m.type === type && pred(m as Extract<DeviceMessage, { type: T }>),
      );
      if (hit) return hit;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${type}; got ${JSON.stringify(this.types())}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 20);
      });
    }
  }

  types(): string[] {
    return this.received.map((m) => ('type' in m ? m.type : 'binary'));
  }

  events(runId: string): { seq: number; type: string }[] {
    return this.received.flatMap((m) =>
      'type' in m && m.type === 'run.event' && m.runId === runId ? [{ seq: m.seq, type: m.event.type }] : [],
    );
  }

  async hello(version = 1): Promise<void> {
    this.send({ type: 'hello', protocolVersion: version, clientId: 'studio-1', clientName: 'Studio' });
    await this.waitFor('auth.challenge');
  }

  async pair(server: CompanionServer, codeOf: () => string): Promise<void> {
    this.send({ type: 'pair.start', id: 1 });
    await this.waitFor('pair.pending');
    void server;
    this.send({ type: 'pair.request', id: 2, code: codeOf() });
    const ok = await this.waitFor('pair.ok');
    this.key = { keyId: ok.keyId, key: ok.key };
  }
}

export async function setup(
  opts: {
    runStore?: MemoryRunStore;
    runner?: FakeRunner;
    pairingStore?: MemoryPairingStore;
    extra?: Partial<CompanionServerOptions>;
  } = {},
): Promise<{
  server: CompanionServer;
  runner: FakeRunner;
  code: () => string;
  runStore: MemoryRunStore;
  pairingStore: MemoryPairingStore;
}> {
  const runner = opts.runner ?? new FakeRunner();
  const runStore = opts.runStore ?? new MemoryRunStore();
  const pairingStore = opts.pairingStore ?? new MemoryPairingStore();
  let shown = '';
  let t = 0;
  const server = await CompanionServer.create({
    deviceInfo: () => device,
    runner,
    clock: { nowMs: () => (t += 1) },
    random: (n) => new Uint8Array(randomBytes(n)),
    hmac,
    runStore,
    pairingStore,
    onPairingCode: (code) => {
      shown = code;
    },
    encodePng: () => Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
    ...opts.extra,
  });
  return { server, runner, code: () => shown, runStore, pairingStore };
}

export async function pairedClient(server: CompanionServer, code: () => string): Promise<Client> {
  const c = new Client(server);
  await c.hello();
  await c.pair(server, code);
  return c;
}

export const flush = () => new Promise((r) => setTimeout(r, 10));
