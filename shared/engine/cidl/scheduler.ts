/**
 * The CI-DL block scheduler: runs passes over a stage's blocks in order, loading each block's weights, starting the
 * next block's load before the current block's compute is awaited (so it proceeds in the host's I/O threads while
 * a blocking compute holds the JS thread), keeping the plan's retained blocks and releasing the rest.
 */
import type { BlockPlacement } from '../execution-provider';
import type { Clock } from '../ports';
import type { EngineEvent, EventSink, ReleaseReason } from '../telemetry';
import { AbortError, isAbortError, LocalAbortController, type AbortSignalLike } from './abort';
import { formatBytes } from '../../format';
import { planEvent, type Plan } from './plan';
import { nextPrefetchIndex, ResidencyLedger, type BlockSpec } from './residency';

/** Which compiled variant a block runs with this step. */
export type BlockVariant = 'plain' | 'tdtm';

/** A finished load: the weights and their size (must equal the block's declared bytes). */
export interface LoadedBlock<W> {
  readonly weights: W;
  readonly bytes: number;
  /** Called once when the scheduler drops the block (its memory can be reused from then on). */
  readonly release?: () => void;
}

/** Reads one block's weights. Should start its I/O before returning and honour `signal` promptly. */
export type BlockLoader<W> = (id: string, signal: AbortSignalLike) => Promise<LoadedBlock<W>>;

/** What a block's compute tells the scheduler: where its sessions ran (reported in `block.compute.end`). */
export interface BlockComputeResult {
  readonly placement?: BlockPlacement;
}

/** Runs one block with its weights. */
export type BlockCompute<W> = (id: string, weights: W) => Promise<BlockComputeResult | void>;

/** Construction options of {@link BlockScheduler}. */
export interface BlockSchedulerOptions<W> {
  /** The blocks in pass order, as planned. */
  readonly blocks: readonly BlockSpec[];
  /** From `planResidency` over the same blocks; must fit. */
  readonly plan: Plan;
  readonly load: BlockLoader<W>;
  readonly clock: Clock;
  readonly emit: EventSink;
  readonly stage: 'text' | 'denoise' | 'decode';
  /** Prefetch the next pass's first absent block during the last block of a pass (not on the last pass). Default true. */
  readonly wrapPrefetch?: boolean;
  /** Emit the `plan` event on construction. Default true. */
  readonly emitPlan?: boolean;
}

/** Options of one pass. */
export interface RunPassOptions {
  /** The variant per block this step (default `plain`); reported in compute events. */
  readonly variant?: (id: string) => BlockVariant;
  /** Cancels the pass: everything is released (`cancelled`) and the pass rejects with an AbortError. */
  readonly signal?: AbortSignalLike;
  /** No pass follows this one: no wrap-around prefetch. Default false. */
  readonly isLastPass?: boolean;
}

interface Loading {
  readonly id: string;
  readonly bytes: number;
  readonly controller: LocalAbortController;
  /** Settles (never rejects) when the load ended; `error` is set if it failed. */
  done: Promise<void>;
  error?: Error;
}

/** Schedules one stage's blocks under a byte budget (see cidl/README.md). */
export class BlockScheduler<W> {
  /** The stage this scheduler serves. */
  readonly stage: 'text' | 'denoise' | 'decode';
  private readonly blocks: readonly BlockSpec[];
  private readonly plan: Plan;
  private readonly load: BlockLoader<W>;
  private readonly clock: Clock;
  private readonly sink: EventSink;
  private readonly wrapPrefetch: boolean;
  private readonly retained: ReadonlySet<string>;
  private readonly ledger: ResidencyLedger;
  private readonly resident = new Map<string, LoadedBlock<W>>();
  private readonly loading = new Map<string, Loading>();
  private readonly events: EngineEvent[] = [];
  private running = false;
  private loadCount = 0;
  private loadedBytesTotal = 0;

  /** Validates the plan against the blocks; throws if the plan does not fit. */
  constructor(options: BlockSchedulerOptions<W>) {
    const { blocks, plan } = options;
    if (!plan.fits) throw new Error(`CI-DL: the plan does not fit: ${plan.reason ?? 'no reason given'}`);
    const ids = new Set(blocks.map((b) => b.id));
    if (ids.size !== blocks.length) throw new Error('CI-DL: block ids must be unique');
    for (const id of plan.retained) {
      if (!ids.has(id)) throw new Error(`CI-DL: the plan retains ${id}, which is not one of the blocks`);
    }
    const total = blocks.reduce((s, b) => s + b.bytes, 0);
    if (total !== plan.totalBytes) {
      throw new Error(
        `CI-DL: the plan was made for ${plan.totalBytes} block bytes, these blocks have ${total}`,
      );
    }
    this.blocks = blocks;
    this.plan = plan;
    this.load = options.load;
    this.clock = options.clock;
    this.sink = options.emit;
    this.wrapPrefetch = options.wrapPrefetch ?? true;
    this.retained = new Set(plan.retained);
    this.ledger = new ResidencyLedger(plan.budgetBytes);
    this.stage = options.stage;
    if (options.emitPlan ?? true) this.emit(planEvent(plan, options.stage, this.clock.nowMs()));
  }

  /** Bytes of blocks loaded or loading now. */
  get residentBytes(): number {
    return this.ledger.residentBytes;
  }

  /** The most block bytes loaded or loading at once so far. */
  get peakResidentBytes(): number {
    return this.ledger.peakBytes;
  }

  /** Loads completed so far, and their bytes. */
  get loads(): { readonly count: number; readonly bytes: number } {
    return { count: this.loadCount, bytes: this.loadedBytesTotal };
  }

  /** Every event this scheduler emitted, in order. */
  get trace(): readonly EngineEvent[] {
    return this.events;
  }

  /**
   * Runs every block once, in order, as step `step`. On abort, or a load or compute error, everything is released
   * (`cancelled` / `error`) and the error is rethrown (load errors name the block).
   */
  async runPass(step: number, compute: BlockCompute<W>, options: RunPassOptions = {}): Promise<void> {
    if (this.running) throw new Error('CI-DL: runPass called while another pass is running');
    this.running = true;
    const { signal } = options;
    const wrap = this.wrapPrefetch && !(options.isLastPass ?? false);
    try {
      for (let i = 0; i < this.blocks.length; i++) {
        const block = this.blocks[i] as BlockSpec;
        this.throwIfAborted(signal, step, block.id);
        if (!this.ledger.has(block.id)) this.startLoad(block);
        const weights = await this.awaitLoaded(block.id, signal, step);
        if (this.plan.prefetch) {
          const j = nextPrefetchIndex(this.blocks, i, (id) => this.ledger.has(id), wrap);
          const next = j === null ? undefined : this.blocks[j];
          if (next !== undefined && this.ledger.fits(next.bytes)) this.startLoad(next);
        }
        // Nothing is awaited between starting the prefetch and calling compute: a blocking compute must find the
        // next load already handed to the host.
        const variant = options.variant?.(block.id) ?? 'plain';
        this.emit({ type: 'block.compute.start', atMs: this.clock.nowMs(), block: block.id, step, variant });
        const placement = (await compute(block.id, weights))?.placement;
        this.emit({
          type: 'block.compute.end',
          atMs: this.clock.nowMs(),
          block: block.id,
          step,
          variant,
          ...(placement === undefined ? {} : { placement }),
        });
        if (!this.retained.has(block.id)) this.releaseOne(block.id, 'not-retained');
      }
      this.throwIfAborted(signal, step, null);
    } catch (error) {
      await this.releaseEverything(isAbortError(error) ? 'cancelled' : 'error');
      throw error;
    } finally {
      this.running = false;
    }
  }

  /** Releases every block, cancelling and awaiting in-flight loads first: after the last step (`end-of-run`) or the LPL leap (`leap`). */
  async releaseAll(reason: ReleaseReason): Promise<void> {
    if (this.running) throw new Error('CI-DL: releaseAll called while a pass is running');
    await this.releaseEverything(reason);
  }

  private emit(event: EngineEvent): void {
    this.events.push(event);
    this.sink(event);
  }

  private throwIfAborted(signal: AbortSignalLike | undefined, step: number, blockId: string | null): void {
    if (signal?.aborted !== true) return;
    const where = blockId === null ? 'at the end of the pass' : `before block ${blockId}`;
    throw new AbortError(`CI-DL: ${this.stage} pass ${step} cancelled ${where}`, { cause: signal.reason });
  }

  private startLoad(block: BlockSpec): void {
    const residentBytes = this.ledger.add(block.id, block.bytes);
    this.emit({
      type: 'block.load.start',
      atMs: this.clock.nowMs(),
      block: block.id,
      bytes: block.bytes,
      residentBytes,
      budgetBytes: this.plan.budgetBytes,
    });
    const controller = new LocalAbortController();
    // Called synchronously so the host starts the I/O now, before a blocking compute can hold the thread.
    let pending: Promise<LoadedBlock<W>>;
    try {
      pending = this.load(block.id, controller.signal);
    } catch (error) {
      pending = Promise.reject(error);
    }
    const entry: Loading = { id: block.id, bytes: block.bytes, controller, done: Promise.resolve() };
    entry.done = Promise.resolve(pending).then(
      (loaded) => {
        if (loaded.bytes !== block.bytes) {
          loaded.release?.();
          entry.error = new Error(
            `CI-DL: block ${block.id} loaded ${formatBytes(loaded.bytes, 'exact')} but was planned as ` +
              `${formatBytes(block.bytes, 'exact')}; the budget accounting would be wrong`,
          );
          return;
        }
        this.loading.delete(block.id);
        this.resident.set(block.id, loaded);
        this.loadCount++;
        this.loadedBytesTotal += block.bytes;
        this.emit({
          type: 'block.load.end',
          atMs: this.clock.nowMs(),
          block: block.id,
          bytes: block.bytes,
          residentBytes: this.ledger.residentBytes,
          budgetBytes: this.plan.budgetBytes,
        });
      },
      (cause: unknown) => {
        const message = cause instanceof Error ? cause.message : String(cause);
        entry.error = isAbortError(cause)
          ? new AbortError(`CI-DL: loading block ${block.id} was cancelled`, { cause })
          : new Error(`CI-DL: loading block ${block.id} failed: ${message}`, { cause });
      },
    );
    this.loading.set(block.id, entry);
  }

  /** Waits for a block's load (racing the caller's signal) and returns its weights. */
  private async awaitLoaded(id: string, signal: AbortSignalLike | undefined, step: number): Promise<W> {
    const entry = this.loading.get(id);
    if (entry !== undefined) {
      await raceAbort(entry.done, signal, () => this.throwIfAborted(signal, step, id));
      if (entry.error !== undefined) throw entry.error;
    }
    const loaded = this.resident.get(id);
    if (loaded === undefined) throw new Error(`CI-DL: block ${id} is neither loaded nor loading`);
    return loaded.weights;
  }

  private releaseOne(id: string, reason: ReleaseReason): void {
    const bytes = this.ledger.remove(id);
    this.resident.get(id)?.release?.();
    this.resident.delete(id);
    this.loading.delete(id);
    this.emit({
      type: 'block.release',
      atMs: this.clock.nowMs(),
      block: id,
      bytes,
      residentBytes: this.ledger.residentBytes,
      budgetBytes: this.plan.budgetBytes,
      reason,
    });
  }

  /**
   * Cancels in-flight loads and waits for them to settle (their memory is not free until then), then releases every
   * block. A cancelled or failed load ends with `block.release` and no `block.load.end`.
   */
  private async releaseEverything(reason: ReleaseReason): Promise<void> {
    const inFlight = [...this.loading.values()];
    for (const entry of inFlight)
      entry.controller.abort(new AbortError(`CI-DL: load of ${entry.id} cancelled`));
    await Promise.all(inFlight.map((entry) => entry.done));
    for (const id of this.ledger.ids()) this.releaseOne(id, reason);
  }
}

/** Resolves when `promise` does, or calls `onAbort` (which throws) as soon as `signal` aborts. */
async function raceAbort(
  promise: Promise<void>,
  signal: AbortSignalLike | undefined,
  onAbort: () => void,
): Promise<void> {
  if (signal === undefined) return promise;
  onAbort();
  let listener: (() => void) | undefined;
  const aborted = new Promise<void>((_resolve, reject) => {
    listener = () => {
      try {
        onAbort();
      } catch (error) {
        reject(error);
      }
    };
    signal.addEventListener('abort', listener, { once: true });
  });
  try {
    await Promise.race([promise, aborted]);
  } finally {
    if (listener !== undefined) signal.removeEventListener('abort', listener);
  }
}
