// Contract values with sensible defaults for the studio's tests, main's and the renderer's alike: a device entry
// and a run summary, each with the fields a test cares about laid on top.
import type { RunSummary, StudioDevice } from '../../shared/protocol/studio-contract';

/** A paired built-in device entry, `patch` on top. */
export function fakeDevice(patch: Partial<StudioDevice> = {}): StudioDevice {
  return {
    id: 'builtin',
    deviceId: 'sim-iphone',
    name: 'Simulated iPhone 15 Pro',
    model: 'iPhone 15 Pro',
    role: 'target',
    simulated: true,
    engineVersion: '0.1.0',
    host: '127.0.0.1',
    port: 4100,
    sources: { builtin: true, discovered: true, manual: false },
    status: 'paired',
    baseline: false,
    thermalState: null,
    diagnostics: {
      seenOverMdns: true,
      portReachable: true,
      protocolVersion: 1,
      paired: true,
      lastError: null,
    },
    ...patch,
  };
}

/** The summary of a finished run on the built-in device, `patch` on top. */
export function testRunSummary(runId: string, patch: Partial<RunSummary> = {}): RunSummary {
  return {
    runId,
    deviceRunId: `d-${runId}`,
    deviceId: 'builtin',
    deviceName: 'Simulated iPhone 15 Pro',
    label: null,
    state: 'finished',
    lastSeq: 10,
    stream: 'ended',
    createdAtEpochMs: 0,
    interruption: null,
    tags: [],
    notes: '',
    params: { prompt: 'a ball', seed: 1 },
    metrics: null,
    baselineRunId: null,
    speedupVsBaseline: null,
    eventLogProblem: null,
    ...patch,
  };
}
