/**
 * Residency accounting and the one prefetch decision, shared by `plan()`'s simulation and the live scheduler so
 * that the predicted peak is, by construction, the peak the scheduler reaches.
 */
import { formatBytes } from '../../format';

/** A block as the scheduler sees it: its stage-qualified id and the bytes of its weights. */
export interface BlockSpec {
  readonly id: string;
  readonly bytes: number;
}

/**
 * Bytes of blocks that are loaded or loading. A block counts from the moment its load starts until it is released,
 * and `add` throws before the sum could exceed the budget (the CI-DL invariant).
 */
export class ResidencyLedger {
  private readonly entries = new Map<string, number>();
  private bytesNow = 0;
  private peak = 0;

  /** `budgetBytes` null means unlimited. */
  constructor(readonly budgetBytes: number | null) {}

  /** Bytes loaded or loading now. */
  get residentBytes(): number {
    return this.bytesNow;
  }

  /** The most `residentBytes` has been. */
  get peakBytes(): number {
    return this.peak;
  }

  /** Whether a block is loaded or loading. */
  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** Ids loaded or loading, in the order their loads started. */
  ids(): string[] {
    return [...this.entries.keys()];
  }

  /** Whether `bytes` more would stay within the budget. */
  fits(bytes: number): boolean {
    return this.budgetBytes === null || this.bytesNow + bytes <= this.budgetBytes;
  }

  /** Counts a block from its load start; throws if it is already counted or would break the budget. */
  add(id: string, bytes: number): number {
    if (this.entries.has(id)) throw new Error(`CI-DL: block ${id} is already resident or loading`);
    if (!this.fits(bytes)) {
      throw new Error(
        `CI-DL budget invariant violated: loading block ${id} (${formatBytes(bytes, 'exact')}) on top of ` +
          `${formatBytes(this.bytesNow, 'exact')} resident/loading [${this.ids().join(', ')}] would exceed the budget of ` +
          `${formatBytes(this.budgetBytes ?? 0, 'exact')}`,
      );
    }
    this.entries.set(id, bytes);
    this.bytesNow += bytes;
    if (this.bytesNow > this.peak) this.peak = this.bytesNow;
    return this.bytesNow;
  }

  /** Stops counting a block; returns its bytes. Throws if it was not counted. */
  remove(id: string): number {
    const bytes = this.entries.get(id);
    if (bytes === undefined) throw new Error(`CI-DL: block ${id} is not resident`);
    this.entries.delete(id);
    this.bytesNow -= bytes;
    return bytes;
  }
}

/**
 * The position to prefetch while block `index` computes: the first block after it, in pass order and wrapping into
 * the next pass only when `wrap`, that is neither loaded nor loading. Null when there is none.
 */
export function nextPrefetchIndex(
  blocks: readonly BlockSpec[],
  index: number,
  isPresent: (id: string) => boolean,
  wrap: boolean,
): number | null {
  const n = blocks.length;
  const last = wrap ? index + n - 1 : n - 1;
  for (let k = index + 1; k <= last; k++) {
    const j = k % n;
    const block = blocks[j];
    if (block !== undefined && !isPresent(block.id)) return j;
  }
  return null;
}

/** What {@link simulateResidency} saw. */
export interface ResidencySimulation {
  /** Highest loaded+loading bytes at any moment. */
  readonly peakBytes: number;
  /** Loads started while each pass ran (a wrap prefetch counts for the pass that started it). */
  readonly loadsPerPass: readonly number[];
  /** Bytes of the loads started while each pass ran. */
  readonly loadedBytesPerPass: readonly number[];
}

/** A moment of the replay: a block is loaded on demand, or a block computes (while another may be loading). */
export type ResidencyMoment =
  | { readonly kind: 'load'; readonly block: BlockSpec; readonly residentBytes: number }
  | {
      readonly kind: 'compute';
      readonly block: BlockSpec;
      /** The block whose load was started for this compute to hide (null: none). */
      readonly loading: BlockSpec | null;
      readonly residentBytes: number;
    };

/**
 * Replays the scheduler's decisions without running anything: per block, load it if absent, prefetch the next
 * absent block if `prefetch` and it fits, compute, release it unless retained. Timing never changes these
 * decisions (a block counts from load start), so this is exact. Passes before the last wrap their prefetch.
 * `observe` sees each on-demand load and each compute with the block bytes counted at that moment.
 */
export function simulateResidency(
  input: {
    blocks: readonly BlockSpec[];
    retained: ReadonlySet<string>;
    prefetch: boolean;
    budgetBytes: number | null;
    passes: number;
    wrapPrefetch?: boolean;
  },
  observe?: (moment: ResidencyMoment) => void,
): ResidencySimulation {
  const { blocks, retained, prefetch, passes } = input;
  const ledger = new ResidencyLedger(input.budgetBytes);
  const loadsPerPass: number[] = [];
  const loadedBytesPerPass: number[] = [];
  for (let pass = 0; pass < passes; pass++) {
    let loads = 0;
    let loadedBytes = 0;
    const wrap = (input.wrapPrefetch ?? true) && pass < passes - 1;
    for (let i = 0; i < blocks.length; i++) {
      const block = blocks[i] as BlockSpec;
      if (!ledger.has(block.id)) {
        ledger.add(block.id, block.bytes);
        loads++;
        loadedBytes += block.bytes;
        observe?.({ kind: 'load', block, residentBytes: ledger.residentBytes });
      }
      let loading: BlockSpec | null = null;
      if (prefetch) {
        const j = nextPrefetchIndex(blocks, i, (id) => ledger.has(id), wrap);
        const next = j === null ? undefined : blocks[j];
        if (next !== undefined && ledger.fits(next.bytes)) {
          ledger.add(next.id, next.bytes);
          loads++;
          loadedBytes += next.bytes;
          loading = next;
        }
      }
      observe?.({ kind: 'compute', block, loading, residentBytes: ledger.residentBytes });
      if (!retained.has(block.id)) ledger.remove(block.id);
    }
    loadsPerPass.push(loads);
    loadedBytesPerPass.push(loadedBytes);
  }
  return { peakBytes: ledger.peakBytes, loadsPerPass, loadedBytesPerPass };
}
