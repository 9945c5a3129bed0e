// The bridge's per-connection event filter (`events.follow`, studio contract 5) over real loopback sockets: a
// run's events go only to connections that follow it, other events to every connection, everything to a
// connection that never asked; the HTTP API refuses the command.
import { describe, expect, it } from 'vitest';
import type { StudioEvent } from '../../../../shared/protocol/studio-contract';
import { bridgeHarness, run } from './ws-bridge-harness';

describe('web studio WebSocket bridge: events.follow', () => {
  const h = bridgeHarness();

  it("pushes a run's events only to connections that follow it (events.follow), the other events to all", async () => {
    const follower = await h.control();
    const viewer = await h.mirror(); // read-only connections may follow too
    const everything = await h.control(); // never asks: every run's events, as before contract 5
    expect(await follower.call('events.follow', { runIds: ['r-1'] })).toMatchObject({
      ok: true,
      result: { runIds: ['r-1'] },
    });
    expect(await viewer.call('events.follow', { runIds: [] })).toMatchObject({ ok: true });
    const sent: StudioEvent[] = [
      { type: 'run.event', runId: 'r-2', seq: 1, event: { type: 'run.started', atMs: 1 } },
      { type: 'run.event', runId: 'r-1', seq: 1, event: { type: 'run.started', atMs: 2 } },
      { type: 'run.updated', run },
    ];
    for (const e of sent) h.fake.emit(e);
    await everything.until(
      () => everything.events.length === 3,
      'every event on the connection that never asked',
    );
    await follower.until(() => follower.events.length === 2, 'events on the follower');
    await viewer.until(() => viewer.events.length === 1, 'events on the mirror that follows nothing');
    expect(follower.events).toEqual([sent[1], sent[2]]);
    expect(viewer.events).toEqual([sent[2]]);
    expect(everything.events).toEqual(sent);
    // Following again replaces the set.
    await follower.call('events.follow', { runIds: ['r-2'] });
    h.fake.emit(sent[0]!);
    h.fake.emit(sent[1]!);
    await everything.until(() => everything.events.length === 5, 'the two run events');
    await follower.until(() => follower.events.length === 3, 'the r-2 event');
    expect(follower.events[2]).toEqual(sent[0]);
    expect(
      await follower.call('events.follow', { runIds: Array.from({ length: 33 }, (_, i) => `r-${i}`) }),
    ).toMatchObject({ ok: false, error: { code: 'bad-args' } });
  });

  it('answers events.follow over the HTTP API with bad-request: it pushes no events', async () => {
    const res = await fetch(`http://127.0.0.1:${h.studio.port}/api/events.follow`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.studio.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ runIds: ['r-1'] }),
    });
    const body = (await res.json()) as { ok: boolean; error?: { code: string; message: string } };
    expect(body).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    expect(body.error?.message).toContain('POST /api/ receives none');
  });
});
