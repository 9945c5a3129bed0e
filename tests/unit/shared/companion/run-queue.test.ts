// RunQueue (through CompanionServer): the thermal state each run records at its start and end.
import { describe, expect, it } from 'vitest';
import type { ThermalState } from '../../../../shared/protocol/thermal';
import type { RunEvent } from '../../../../shared/protocol/run';
import { Client, flush, setup } from './server-harness';

async function runOnce(version: number, probe?: () => Promise<ThermalState | null>) {
  let state: ThermalState | null = 'fair';
  const { server, code, runner } = await setup({
    extra: { versions: { min: 1, max: 3 }, ...(probe ? { thermal: probe } : { thermal: async () => state }) },
  });
  runner.gated = true;
  const c = new Client(server);
  await c.hello(version);
  await c.pair(server, code);
  c.send({ type: 'run.start', id: 10, params: { prompt: 'a dog', seed: 1, steps: 2 }, preview: null });
  const { runId } = await c.waitFor('run.accepted', (m) => m.ref === 10);
  c.send({ type: 'run.subscribe', id: 11, runId, fromSeq: 1 });
  await c.waitFor('run.event', (m) => m.event.type === 'run.started');
  state = 'serious'; // the device heats up while the run is going
  runner.gated = false;
  runner.release();
  await c.waitFor('run.event', (m) => m.event.type === 'run.finished');
  await flush();
  const events = c.received.flatMap((m) =>
    'type' in m && m.type === 'run.event' ? [m.event as RunEvent] : [],
  );
  return {
    started: events.find((e) => e.type === 'run.started')!,
    finished: events.find((e) => e.type === 'run.finished')!,
  };
}

describe('RunQueue thermal state', () => {
  it('records the state at the start on run.started and at the end on the terminal event', async () => {
    const { started, finished } = await runOnce(3);
    expect(started).toMatchObject({ type: 'run.started', thermal: 'fair' });
    expect(finished).toMatchObject({ type: 'run.finished', thermal: 'serious' });
  });

  it('leaves the field out of a version-2 session (strict older studios would drop the event)', async () => {
    const { started, finished } = await runOnce(2);
    expect('thermal' in started).toBe(false);
    expect('thermal' in finished).toBe(false);
  });

  it('a run cancelled while its thermal state is read ends cancelled without starting the engine', async () => {
    let answer: (s: ThermalState | null) => void = () => undefined;
    const { server, code, runner } = await setup({
      extra: { versions: { min: 1, max: 3 }, thermal: () => new Promise((r) => (answer = r)) },
    });
    const c = new Client(server);
    await c.hello(3);
    await c.pair(server, code);
    c.send({ type: 'run.start', id: 10, params: { prompt: 'a dog', seed: 1, steps: 2 }, preview: null });
    const { runId } = await c.waitFor('run.accepted', (m) => m.ref === 10);
    c.send({ type: 'run.cancel', id: 11, runId });
    await c.waitFor('ack', (m) => m.ref === 11);
    answer('nominal');
    await flush();
    answer('fair');
    c.send({ type: 'run.subscribe', id: 12, runId, fromSeq: 1 });
    const end = await c.waitFor('run.event', (m) => m.event.type === 'run.cancelled');
    expect(end.event).toMatchObject({ type: 'run.cancelled', thermal: 'fair' });
    expect(runner.started).toEqual([]);
  });

  it('records null ("unknown") when the probe fails, and the run still finishes', async () => {
    const { started, finished } = await runOnce(3, () => Promise.reject(new Error('sensor gone')));
    expect(started).toMatchObject({ thermal: null });
    expect(finished).toMatchObject({ type: 'run.finished', thermal: null });
  });
});
