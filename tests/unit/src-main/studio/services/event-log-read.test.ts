// Reading a long events.jsonl does not hold the studio's main process: the parse lets other work in every few
// milliseconds (the studio forwards live events meanwhile), and what it reads is unchanged.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readEventLog } from '../../../../../src-main/studio/services/run-folder';
import { sampleLog } from '../../../shared/report/fixtures';

const dir = mkdtempSync(join(tmpdir(), 'odsora-event-log-read-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const EVENTS = 20_000;

describe('readEventLog on a long log', () => {
  it('lets a timer due while it parses fire before it ends, and reads every event in order', async () => {
    const sample = sampleLog().map((e) => e.event);
    const lines: string[] = [];
    for (let seq = 1; seq <= EVENTS; seq++)
      lines.push(JSON.stringify({ seq, event: sample[seq % sample.length] }));
    writeFileSync(join(dir, 'events.jsonl'), `${lines.join('\n')}\n`);

    const order: string[] = [];
    const started = performance.now();
    const timer = new Promise<void>((fired) =>
      setTimeout(() => {
        order.push('timer');
        fired();
      }, 20),
    );
    const read = await readEventLog(dir);
    order.push('read');
    const readMs = performance.now() - started;
    await timer;

    expect(read.problem).toBeNull();
    expect(read.events).toHaveLength(EVENTS);
    expect(read.events.at(-1)!.seq).toBe(EVENTS);
    // Only meaningful when parsing takes well over the timer's 20 ms (20,000 events: hundreds of ms here).
    expect(readMs).toBeGreaterThan(60);
    expect(order).toEqual(['timer', 'read']);
  });
});
