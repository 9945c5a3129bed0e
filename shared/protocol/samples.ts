/**
 * One valid example of every companion protocol message (client, device, engine and run-level events): the unit
 * tests' round-trip and mutation cases and the protocol fuzzer's templates (src-main/bench/protocol-fuzz-frames.ts).
 */
import type { EngineEvent } from '../engine/telemetry';
import type { DeviceInfo } from './device';
import type { ClientMessage, DeviceMessage } from './messages';
import type { RunEvent } from './run';

const hex = (n: number, c = 'a') => c.repeat(n * 2);

export const deviceInfo: DeviceInfo = {
  id: 'dev-1',
  name: "Ana's iPhone",
  model: 'iPhone16,1',
  role: 'target',
  simulated: true,
  platform: 'node',
  engineVersion: '0.1.0',
  protocol: { min: 1, max: 2 },
  memory: { limitBytes: 3_000_000_000, availableBytes: 1_500_000_000 },
  thermalState: 'nominal',
  backends: ['onnxruntime-node 1.30.0 (cpu)'],
  blockSets: [
    { name: 'nano', model: 'opensora-nano', bytes: 1234, manifestSha256: hex(32, 'b'), complete: true },
  ],
  runModel: {
    blockSet: 'nano',
    defaults: {
      steps: 30,
      cfgScale: 7,
      numFrames: 16,
      heightPx: 32,
      widthPx: 32,
      fps: 24,
      promptStyle: 'python',
      aestheticScore: null,
      timesteps: { discrete: true, transform: false, ratioTime: 'python' },
    },
    spatialFactor: 8,
  },
};

/** Every EngineEvent variant. */
export const engineEvents: EngineEvent[] = [
  { type: 'stage.start', atMs: 1, stage: 'load' },
  { type: 'stage.end', atMs: 2, stage: 'text', durationMs: 1 },
  {
    type: 'plan',
    atMs: 3,
    stage: 'denoise',
    budgetBytes: null,
    totalBlockBytes: 100,
    predictedPeakBytes: 50,
    retained: ['denoiser/part1', 'denoiser/pair.0'],
    prefetch: true,
    fits: true,
  },
  { type: 'step.start', atMs: 4, step: 0, t: 1000, merged: true },
  { type: 'step.end', atMs: 5, step: 0, t: 1000, latencyMs: 12.5, cosine: null, merged: true, leapt: false },
  {
    type: 'block.load.start',
    atMs: 6,
    block: 'denoiser/pair.3',
    bytes: 10,
    residentBytes: 0,
    budgetBytes: 64,
  },
  {
    type: 'block.load.end',
    atMs: 7,
    block: 'denoiser/pair.3',
    bytes: 10,
    residentBytes: 10,
    budgetBytes: 64,
  },
  { type: 'block.compute.start', atMs: 8, block: 'denoiser/pair.3', step: 0, variant: 'tdtm' },
  { type: 'block.compute.end', atMs: 9, block: 'denoiser/pair.3', step: 0, variant: 'plain' },
  {
    type: 'block.compute.end',
    atMs: 9.5,
    block: 'denoiser/pair.4',
    step: 0,
    variant: 'tdtm',
    placement: 'coreml',
  },
  {
    type: 'block.release',
    atMs: 10,
    block: 'denoiser/pair.3',
    bytes: 10,
    residentBytes: 0,
    budgetBytes: null,
    reason: 'leap',
  },
];

/** Every run-level event. */
export const runLevelEvents: RunEvent[] = [
  { type: 'run.queued', atMs: 0, position: 2 },
  { type: 'run.started', atMs: 1, thermal: 'fair' },
  { type: 'preview.ready', atMs: 2, step: 5, frames: 4, width: 64, height: 64, format: 'image-rgb8' },
  {
    type: 'run.finished',
    atMs: 3,
    frames: 17,
    width: 128,
    height: 128,
    fps: 24,
    stepsRun: 15,
    timings: { loadMs: 1, textMs: 2, denoiseMs: 3, decodeMs: 4, totalMs: 10 },
  },
  { type: 'run.failed', atMs: 4, code: 'invalid-params', message: 'bad', field: 'heightPx' },
  { type: 'run.cancelled', atMs: 5, byClientId: 'studio-1' },
  { type: 'run.interrupted', atMs: 6, reason: 'device-restarted' },
];

export const clientMessages: ClientMessage[] = [
  { type: 'hello', protocolVersion: 1, clientId: 'studio-1', clientName: 'Studio on laptop' },
  { type: 'ping', nonce: 7 },
  { type: 'pong', nonce: 7 },
  { type: 'device.info.get', id: 1 },
  { type: 'pair.start', id: 2 },
  { type: 'pair.request', id: 3, code: '012345' },
  { type: 'auth.response', id: 4, keyId: 'k-0123456789abcdef', clientNonce: hex(16), mac: hex(32) },
  {
    type: 'run.start',
    id: 5,
    params: {
      prompt: 'a red fox running through snow',
      seed: 42,
      steps: 30,
      cfgScale: 7,
      numFrames: 17,
      heightPx: 128,
      widthPx: 128,
      fps: 24,
      lpl: { mode: 'dynamic', minimumSteps: 14, tolerance: 1e-3, patience: 3, measure: 'reference-slice' },
      tdtm: { mergeSteps: 10 },
      cidl: { budget: { kind: 'fraction', of: 0.5 }, policy: 'paper', prefetch: true, verify: 'first-load' },
      promptStyle: 'python',
      aestheticScore: 6.5,
      timesteps: { discrete: true, transform: true, ratioTime: 'python' },
    },
    preview: { everySteps: 5, maxEdgePx: 64, format: 'image-rgb8' },
    label: 'fox',
  },
  { type: 'run.start', params: { prompt: 'minimal', seed: 0 }, preview: null },
  { type: 'run.cancel', id: 6, runId: 'r-1' },
  { type: 'run.subscribe', id: 7, runId: 'r-1', fromSeq: 1 },
  { type: 'run.unsubscribe', id: 8, runId: 'r-1' },
  { type: 'runs.get', id: 9 },
  { type: 'frames.get', id: 10, runId: 'r-1', from: 0, count: 17, format: 'png' },
  {
    type: 'blockset.offer',
    id: 11,
    transferId: 't-1',
    name: 'nano',
    manifestSha256: hex(32, 'c'),
    files: [{ path: 'denoiser/pair.0.safetensors', bytes: 4096, sha256: hex(32, 'd') }],
  },
  {
    type: 'blockset.chunk',
    id: 12,
    transferId: 't-1',
    path: 'denoiser/pair.0.safetensors',
    offset: 0,
    bytes: 4096,
    sha256: hex(32, 'e'),
    chunkSeq: 0,
  },
];

export const deviceMessages: DeviceMessage[] = [
  { type: 'welcome', protocolVersion: 1, sessionId: 's-1', device: deviceInfo },
  {
    type: 'hello.reject',
    reason: 'version-too-new',
    clientVersion: 2,
    deviceVersion: 1,
    minVersion: 1,
    message: 'update the device',
  },
  { type: 'ping', nonce: 1 },
  { type: 'pong', nonce: 1 },
  { type: 'error', code: 'pairing-locked', message: 'locked', retryable: true, ref: 3, retryAfterMs: 30000 },
  { type: 'error', code: 'bad-message', message: 'x', retryable: false, path: 'params.steps' },
  { type: 'ack', ref: 6 },
  { type: 'device.info', ref: 1, device: deviceInfo },
  { type: 'pair.pending', ref: 2, digits: 6, expiresInMs: 120000 },
  { type: 'pair.ok', ref: 3, deviceId: 'dev-1', keyId: 'k-0123456789abcdef', key: hex(32, 'f') },
  { type: 'auth.challenge', nonce: hex(16, '0') },
  { type: 'auth.ok', ref: 4, keyId: 'k-0123456789abcdef', deviceMac: hex(32, '1') },
  { type: 'run.accepted', ref: 5, runId: 'r-1', queuePosition: 0 },
  { type: 'run.subscribed', ref: 7, runId: 'r-1', fromSeq: 1, headSeq: 12, state: 'running' },
  ...[...engineEvents, ...runLevelEvents].map((event, i): DeviceMessage => ({
    type: 'run.event',
    runId: 'r-1',
    seq: i + 1,
    event,
  })),
  {
    type: 'runs',
    ref: 9,
    runs: [{ runId: 'r-1', state: 'finished', headSeq: 40, clientId: 'studio-1', label: 'fox' }],
  },
  {
    type: 'frames',
    ref: 10,
    runId: 'r-1',
    from: 0,
    count: 17,
    totalFrames: 17,
    width: 128,
    height: 128,
    format: 'png',
  },
  {
    type: 'blockset.ack',
    ref: 11,
    transferId: 't-1',
    files: [{ path: 'denoiser/pair.0.safetensors', receivedBytes: 0, complete: false }],
    installed: false,
  },
];
