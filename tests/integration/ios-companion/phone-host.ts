// Starts the app's composition root (ios-companion/src/host/phone-companion.ts) on Node: Node's `net` in place of
// react-native-tcp-socket, onnxruntime-node in place of onnxruntime-react-native (through the app's own backend
// class), Node's fs behind react-native-fs's API, and a process-memory probe in place of the native module. Not a
// test file itself.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { OrtBackend } from '../../../ios-companion/src/engine/ort-backend';
import type { OrtModuleLike } from '../../../shared/companion/host-kit/ort-adapter';
import {
  startPhoneCompanion,
  type Advertiser,
  type PhoneCompanion,
} from '../../../ios-companion/src/host/phone-companion';
import type { RnfsLike } from '../../../ios-companion/src/storage/rnfs-like';
import type { TcpModuleLike } from '../../../ios-companion/src/ws/socket-types';
import type { DeviceInfo } from '../../../shared/protocol/device';
import type { ConnectionLimits } from '../../../shared/protocol/limits';
import { nodeRnfs } from './node-rnfs';

/** onnxruntime-node, seen through the app's runtime interface. */
export const nodeOrt: OrtModuleLike = {
  InferenceSession: {
    create: (model, options) =>
      ort.InferenceSession.create(model, { ...options, intraOpNumThreads: 1, interOpNumThreads: 1 }),
  },
  Tensor: ort.Tensor,
};

/** Folders of one phone (pass them again to restart "the same phone"). */
export interface PhoneDirs {
  dataDir: string;
  modelsDir: string;
}

/** New empty folders. */
export function phoneDirs(): PhoneDirs {
  const root = mkdtempSync(join(tmpdir(), 'odsora-phone-'));
  return { dataDir: join(root, 'Library', 'odsora'), modelsDir: join(root, 'Documents', 'blocksets') };
}

/** What the advertiser was asked to publish. */
export const published: { info: DeviceInfo; port: number; stopped: boolean }[] = [];

const recordingAdvertiser: Advertiser = async (info, port) => {
  const entry = { info, port, stopped: false };
  published.push(entry);
  return {
    stop: async () => {
      entry.stopped = true;
    },
  };
};

/** What a test may put in place of the defaults (Node's `net`, react-native-fs on Node). */
export interface StartPhoneOptions {
  tcp?: TcpModuleLike;
  rnfs?: RnfsLike;
  log?: (line: string) => void;
  /** Overrides of the protocol's connection limits. */
  connectionLimits?: Partial<ConnectionLimits>;
}

/** Starts the phone companion on 127.0.0.1 with the given folders. */
export function startPhone(dirs: PhoneDirs, opts: StartPhoneOptions = {}): Promise<PhoneCompanion> {
  const log = opts.log;
  return startPhoneCompanion(
    {
      tcp: opts.tcp ?? net,
      rnfs: opts.rnfs ?? nodeRnfs(),
      dataDir: dirs.dataDir,
      modelsDir: dirs.modelsDir,
      createBackend: (coreml) => new OrtBackend(nodeOrt, { runtimeName: 'onnxruntime-node (test)', coreml }),
      probe: {
        availableBytes: async () => 3_000_000_000 - process.memoryUsage().rss,
        footprintBytes: async () => process.memoryUsage().rss,
        thermalState: async () => 'nominal',
      },
      random: (n) => new Uint8Array(randomBytes(n)),
      clock: { nowMs: () => performance.now() },
      epochMs: () => Date.now(),
      advertise: recordingAdvertiser,
      hardwareModel: 'iPhone16,1',
      platform: 'ios (node test host)',
      defaultName: 'Test iPhone',
      ...(log ? { log } : {}),
    },
    {
      host: '127.0.0.1',
      port: 0,
      ...(opts.connectionLimits ? { connectionLimits: opts.connectionLimits } : {}),
    },
  );
}
