// The bridge tests' shared harness (not a test file): stub services behind the real dispatcher, a recording peer,
// upgrade probing, and a web studio started per describe block with its own temporary static folder.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import WebSocket from 'ws';
import {
  studioEventFrameSchema,
  studioResponseSchema,
  type StudioEvent,
  type StudioResponse,
} from '../../../../shared/protocol/studio-contract';
import type { RunSummary, StudioDevice } from '../../../../shared/protocol/studio-contract';
import {
  createStudioDispatch,
  createStudioHandlers,
  type StudioHandlers,
} from '../../../../src-main/studio/studio-handlers';
import { startWebStudio, type WebStudio } from '../../../../src-main/studio/web-server';
import type { WsBridgeLimits } from '../../../../src-main/studio/ws-bridge';
import { fakeDevice, testRunSummary } from '../../../helpers/studio-fixtures';

export const device: StudioDevice = fakeDevice({
  deviceId: null,
  name: 'Built-in iPhone 15 Pro',
  model: 'iPhone 15 Pro (simulated)',
  engineVersion: null,
  port: 0,
  sources: { builtin: true, discovered: false, manual: false },
  status: 'connected',
  diagnostics: {
    seenOverMdns: false,
    portReachable: null,
    protocolVersion: null,
    paired: false,
    lastError: null,
  },
});

export const run: RunSummary = testRunSummary('r-1', {
  deviceRunId: 'dev-run-1',
  deviceName: 'Built-in iPhone 15 Pro',
  state: 'running',
  lastSeq: 3,
  stream: 'live',
  createdAtEpochMs: 1_700_000_000_000,
});

/** Stub services behind the real handlers' dispatcher (validation, error mapping), recording mutating calls. */
export function fakeStudio() {
  const mutations: string[] = [];
  const listeners = new Set<(event: StudioEvent) => void>();
  const real = createStudioHandlers({ appVersion: '1.2.3', platform: 'web' });
  const handlers: StudioHandlers = {
    ...real,
    'devices.list': async () => ({ devices: [device] }),
    'runs.list': async () => ({ runs: [run], unreadable: [] }),
    'devices.pair': async () => {
      mutations.push('devices.pair');
      return { device: { ...device, status: 'paired' } };
    },
    'runs.start': async () => {
      mutations.push('runs.start');
      return { run };
    },
    'runs.cancel': async () => {
      mutations.push('runs.cancel');
      return { run: { ...run, state: 'cancelled' } };
    },
  };
  return {
    mutations,
    dispatch: createStudioDispatch(handlers),
    onEvent: (listener: (event: StudioEvent) => void) => {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    emit: (event: StudioEvent) => {
      for (const l of listeners) l(event);
    },
  };
}

/** A bridge connection that queues what the server sends, for request/response and event assertions. */
export class Peer {
  readonly responses: StudioResponse[] = [];
  readonly events: StudioEvent[] = [];
  readonly junk: unknown[] = [];
  private waiters: (() => void)[] = [];
  // Above the ids the raw frames in these tests use, so answers never get mixed up.
  private nextId = 1000;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const raw: unknown = isBinary ? data : JSON.parse(String(data));
      const event = studioEventFrameSchema.safeParse(raw);
      const response = studioResponseSchema.safeParse(raw);
      if (event.success) this.events.push(event.data.event);
      else if (response.success) this.responses.push(response.data);
      else this.junk.push(raw);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static open(url: string, origin?: string): Promise<Peer> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, origin !== undefined ? { origin } : {});
      ws.once('open', () => resolve(new Peer(ws)));
      ws.once('error', reject);
    });
  }

  async until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  /** Sends a raw frame and returns the next response. */
  async sendRaw(frame: string | Buffer, binary = false): Promise<StudioResponse> {
    const before = this.responses.length;
    this.ws.send(frame, { binary });
    await this.until(() => this.responses.length > before, 'a response');
    return this.responses[before]!;
  }

  async call(command: string, args: unknown = {}): Promise<StudioResponse> {
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ id, command, args }));
    await this.until(() => this.responses.some((r) => r.id === id), `the answer to ${command}`);
    return this.responses.find((r) => r.id === id)!;
  }

  closed(): Promise<number> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve(-1);
    return new Promise((resolve) => this.ws.once('close', (code) => resolve(code)));
  }

  close(): void {
    this.ws.terminate();
  }
}

/** The HTTP status of an upgrade attempt: 101 when it was accepted. */
export function upgradeStatus(url: string, init: { origin?: string; headers?: Record<string, string> } = {}) {
  return new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(url, {
      ...(init.origin !== undefined ? { origin: init.origin } : {}),
      ...(init.headers !== undefined ? { headers: init.headers } : {}),
    });
    ws.once('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', (err) => reject(err));
  });
}

/**
 * A web studio over `fakeStudio()` for one describe block (started in `beforeAll`, closed with every peer it
 * opened in `afterAll`); `start` starts another one with other limits, closed by the caller.
 */
/** What {@link bridgeHarness} gives a describe block. */
export interface BridgeHarness {
  /** The block's studio and its stub services (set in `beforeAll`). */
  studio: WebStudio;
  fake: ReturnType<typeof fakeStudio>;
  start(limits?: Partial<WsBridgeLimits>, f?: ReturnType<typeof fakeStudio>): Promise<WebStudio>;
  control(s?: WebStudio): Promise<Peer>;
  mirror(s?: WebStudio): Promise<Peer>;
}

export function bridgeHarness(): BridgeHarness {
  let dir = '';
  const opened: Peer[] = [];
  const h: BridgeHarness = {
    studio: undefined as unknown as WebStudio,
    fake: undefined as unknown as ReturnType<typeof fakeStudio>,
    start: (limits?: Partial<WsBridgeLimits>, f = fakeStudio()) =>
      startWebStudio({
        port: 0,
        host: '127.0.0.1',
        staticDir: join(dir, 'renderer'),
        dispatch: f.dispatch,
        onEvent: f.onEvent,
        ...(limits !== undefined ? { bridgeLimits: limits } : {}),
      }),
    control: async (s: WebStudio = h.studio) => {
      const p = await Peer.open(bridgeUrl(s, `token=${s.token}`), s.origin);
      opened.push(p);
      return p;
    },
    mirror: async (s: WebStudio = h.studio) => {
      const p = await Peer.open(bridgeUrl(s, `mirror=${s.mirrorToken}`), s.origin);
      opened.push(p);
      return p;
    },
  };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'odsora-ws-bridge-'));
    mkdirSync(join(dir, 'renderer'), { recursive: true });
    writeFileSync(join(dir, 'renderer', 'index.html'), '<!doctype html><title>Studio</title>');
    h.fake = fakeStudio();
    h.studio = await h.start(undefined, h.fake);
  });
  afterAll(async () => {
    for (const p of opened) p.close();
    await h.studio?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return h;
}

/** The bridge URL of a web studio with a query (`token=…` or `mirror=…`). */
export const bridgeUrl = (s: WebStudio, query: string) => `ws://127.0.0.1:${s.port}/bridge?${query}`;
