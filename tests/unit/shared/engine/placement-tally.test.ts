import { describe, expect, it } from 'vitest';
import type { ExecutionPlacement } from '../../../../shared/engine/execution-provider';
import { computeWithPlacement, PlacementTally } from '../../../../shared/engine/placement-tally';
import type { BackendSession } from '../../../../shared/engine/ports';

function session(placement?: ExecutionPlacement): BackendSession {
  return {
    run: () => Promise.resolve({}),
    release: () => Promise.resolve(),
    ...(placement === undefined ? {} : { placement }),
  };
}

describe('PlacementTally', () => {
  it("reports where a block's sessions ran and forgets them after each block", async () => {
    const tally = new PlacementTally();
    const coreml = session('coreml');
    const cpu = session('cpu');
    const compute = computeWithPlacement<string>(tally, async (id) => {
      if (id === 'part1') await tally.ran(coreml).run({});
      if (id === 'pair.0') await tally.ran(cpu).run({});
      if (id === 'pair.1') {
        await tally.ran(coreml).run({});
        await tally.ran(cpu).run({});
      }
    });
    expect(await compute('part1', 'w')).toEqual({ placement: 'coreml' });
    expect(await compute('pair.0', 'w')).toEqual({ placement: 'cpu' });
    expect(await compute('pair.1', 'w')).toEqual({ placement: 'mixed' });
    // A block that ran no session (the T5 embedding lookup in TypeScript) says nothing.
    expect(await compute('embed', 'w')).toEqual({});
  });

  it('drops what a failed block left behind before the next block runs', async () => {
    const tally = new PlacementTally();
    tally.ran(session('cpu'));
    const compute = computeWithPlacement<string>(tally, async () => {
      await tally.ran(session('coreml')).run({});
    });
    expect(await compute('pair.0', 'w')).toEqual({ placement: 'coreml' });
  });

  it('says nothing for sessions of a backend that does not say where they run', () => {
    const tally = new PlacementTally();
    tally.ran(session());
    expect(tally.take()).toBeUndefined();
  });
});
