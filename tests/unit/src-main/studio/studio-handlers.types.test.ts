// The studio API is derived from its contract: every command has a handler in main (one missing, or one answering
// the wrong shape, does not compile: `node scripts/typecheck.mjs` checks the `@ts-expect-error` lines below) and
// one renderer method named by the contract, taking the command's args and resolving to its result.
import { describe, expect, expectTypeOf, it } from 'vitest';
import type {
  RunDetail,
  StudioApi,
  StudioArgs,
  StudioCommand,
  StudioMethodName,
  StudioResult,
} from '../../../../shared/protocol/studio-contract';
import { createStudioHandlers, type StudioHandlers } from '../../../../src-main/studio/studio-handlers';

const real = createStudioHandlers({ appVersion: '1.2.3', platform: 'web' });

describe('studio handlers and API: derived from the contract', () => {
  it('does not compile a handler map that lacks a command', () => {
    const { 'runs.delete': dropped, ...withoutDelete } = real;
    // @ts-expect-error Property ''runs.delete'' is missing: every contract command needs its handler.
    const handlers: StudioHandlers = withoutDelete;
    expect(Object.keys(handlers)).not.toContain('runs.delete');
    expect(typeof dropped).toBe('function');
  });

  it('does not compile a handler that answers another shape than its result', () => {
    const handlers: StudioHandlers = {
      ...real,
      // @ts-expect-error `runs.delete` answers `{ deleted: boolean }`, not `{ removed: boolean }`.
      'runs.delete': async () => ({ removed: true }),
    };
    expect(Object.keys(handlers)).toContain('runs.delete');
  });

  it('gives the renderer one method per command, named by the contract, typed by its schemas', () => {
    expectTypeOf<keyof StudioApi>().toEqualTypeOf<StudioMethodName<StudioCommand>>();
    expectTypeOf<StudioApi['getRun']>().parameter(0).toEqualTypeOf<StudioArgs<'runs.get'>>();
    expectTypeOf<StudioApi['getRun']>().returns.resolves.toEqualTypeOf<RunDetail>();
    expectTypeOf<StudioApi['startRun']>().returns.resolves.toEqualTypeOf<StudioResult<'runs.start'>>();
    // A command without arguments may be called without them; one with arguments may not.
    expectTypeOf<StudioApi['listRuns']>().toBeCallableWith();
    const api = {} as StudioApi;
    // @ts-expect-error `runs.get` needs `{ runId }`.
    const call = () => api.getRun();
    expect(typeof call).toBe('function');
  });
});
