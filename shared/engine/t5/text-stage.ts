/**
 * The text stage: one pass of the T5 encoder over the block set's text blocks (`text/embed`, `text/block.{i}`,
 * `text/final`) under the CI-DL BlockScheduler, turning token ids into the caption states `y` STDiT3 reads.
 * The weights of each block are loaded, used once and released (one pass: nothing is worth retaining), with the
 * next block's load overlapping the current block's compute when the budget allows two blocks.
 */
import { computeWithPlacement } from '../placement-tally';
import { stagePrecision, type BlockSetManifest } from '../blockset/manifest';
import type { Precision } from '../blockset/precision';
import type { VerifyPolicy } from '../blockset/load';
import type { BudgetSpec } from '../cidl/budget';
import { replayStagePeak, stageLocal } from '../cidl/memory-limit';
import type { Plan, RetentionPolicy } from '../cidl/plan';
import { openStage, type StageContext } from '../cidl/stage-scheduler';
import type { InferenceBackend } from '../ports';
import type { FloatTensor } from '../tensor';
import type { T5Config } from './config';
import { textSessions } from './memory';
import { T5Encoder, type T5IntArray, type T5State } from './model';
import { textStageOf, type TextBlockEntry } from './text-manifest';

/** Everything the text stage needs from its host: the stage ports plus its encoder cache and block observer. */
export interface TextStageContext extends StageContext {
  /** Compiled encoders reused across runs of the same host (optional; otherwise compiled and released per run). */
  readonly models?: T5EncoderCache;
  /** Observes each block's output (`embed`, `block.{i}`, `final`), e.g. for verification. */
  readonly onBlock?: (id: string, hidden: FloatTensor, afterAttn?: FloatTensor) => void;
}

/** The tokenised prompt(s): ids and mask, row-major [B, L] (B = `batch`, default 1). */
export interface TextStageInput {
  readonly ids: T5IntArray;
  readonly mask: T5IntArray;
  /** Prompts encoded together (default 1). */
  readonly batch?: number;
}

/** CI-DL knobs of the text stage. */
export interface TextStageOptions {
  /** Block memory budget (the XXL embed block alone is 526 MB, a layer 805 MB). */
  readonly budget: BudgetSpec;
  /** Retention policy (irrelevant for one pass, kept for symmetry with the denoiser). */
  readonly policy?: RetentionPolicy;
  /** Load the next block while one computes (default true). */
  readonly prefetch?: boolean;
  /** Hash checks: `first-load` and `every-load` both hash every block (each is loaded once); default `first-load`. */
  readonly verify?: VerifyPolicy;
}

/** What the text stage returns. */
export interface TextStageResult {
  /** last_hidden_state [B, L, D] (Open-Sora's y is this with a singleton axis: [B, 1, L, D]). */
  readonly y: FloatTensor;
  /** The mask, as given, as Int32 [B·L] (the STDiT caption mask). */
  readonly mask: Int32Array;
  readonly plan: Plan;
  readonly peakResidentBytes: number;
  readonly loads: { count: number; bytes: number };
}

/** Caches compiled T5 encoders per (config, shape). */
export class T5EncoderCache {
  private readonly models = new Map<string, T5Encoder>();

  /** The encoder for a shape and weight precision (graphs compile on first use). */
  get(
    backend: InferenceBackend,
    cfg: T5Config,
    shape: { batch: number; length: number },
    precision: Precision = 'f32',
  ): T5Encoder {
    const key = JSON.stringify([cfg, shape, precision]);
    let m = this.models.get(key);
    if (!m) {
      m = T5Encoder.create(backend, cfg, shape, precision);
      this.models.set(key, m);
    }
    return m;
  }

  /** Releases every compiled session. */
  async clear(): Promise<void> {
    const all = [...this.models.values()];
    this.models.clear();
    for (const m of all) await m.release();
  }
}

/** The text stage's blocks in run order (`embed`, `block.0` … `block.{N−1}`, `final`), T5 config and precision. */
export function textBlocks(manifest: BlockSetManifest): {
  blocks: readonly TextBlockEntry[];
  config: T5Config;
  precision: Precision;
} {
  const { stage, config } = textStageOf(manifest);
  return { blocks: stage.blocks, config, precision: stagePrecision(stage) };
}

/** Runs the T5 encoder over the block set's text stage (see the module comment). */
export async function runTextStage(
  ctx: TextStageContext,
  input: TextStageInput,
  opts: TextStageOptions,
): Promise<TextStageResult> {
  const { blockSet, clock, emit } = ctx;
  const { blocks: entries, config: cfg, precision } = textBlocks(blockSet.manifest);
  const batch = input.batch ?? 1;
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`text stage: invalid batch ${batch}`);
  if (input.ids.length % batch !== 0 || input.ids.length === 0)
    throw new Error(`text stage: ${input.ids.length} token ids do not split into ${batch} prompt(s)`);
  const length = input.ids.length / batch;
  if (input.mask.length !== input.ids.length)
    throw new Error(`text stage: mask has ${input.mask.length} values, ids ${input.ids.length}`);

  const t0 = clock.nowMs();
  emit({ type: 'stage.start', atMs: t0, stage: 'text' });
  const sessions = textSessions(cfg, { batch, length }, precision);
  const opened = await openStage(ctx, {
    stage: 'text',
    prefix: 'text/',
    entries,
    sessions,
    budget: opts.budget,
    verify: opts.verify,
  });
  const { blocks, plan, scheduler } = opened.schedule(entries, {
    passes: 1,
    policy: opts.policy,
    prefetch: opts.prefetch,
    wrapPrefetch: false,
  });

  const cache = ctx.models ?? new T5EncoderCache();
  const model = cache.get(ctx.backend, cfg, { batch, length }, precision);
  const pass: { state?: T5State; y?: FloatTensor } = {};
  try {
    await scheduler.runPass(
      0,
      computeWithPlacement(model.placements, async (id, weights) => {
        const local = id.slice('text/'.length);
        if (local === 'embed') {
          pass.state = model.initialState(weights, input.ids, input.mask);
          ctx.onBlock?.(local, pass.state.hidden);
          return;
        }
        const state = pass.state;
        if (!state) throw new Error(`${id} ran before text/embed`);
        if (local === 'final') {
          pass.y = await model.final(weights, state);
          ctx.onBlock?.(local, pass.y);
          return;
        }
        const index = Number(local.slice('block.'.length));
        const next: T5State = await model.block(index, weights, state, {
          withAfterAttn: ctx.onBlock !== undefined,
        });
        pass.state = next;
        ctx.onBlock?.(local, next.hidden, next.afterAttn);
      }),
      { signal: ctx.signal, isLastPass: true },
    );
    await scheduler.releaseAll('end-of-run');
  } catch (e) {
    await scheduler.releaseAll('error').catch(() => undefined);
    throw e;
  } finally {
    ctx.memory?.trim();
    if (!ctx.models) await cache.clear();
  }
  const y = pass.y;
  if (!y) throw new Error('the text pass produced no output');
  if (ctx.onMemory)
    ctx.onMemory(
      await opened.meter.report(
        'text',
        opened.work,
        plan,
        replayStagePeak(blocks, plan, 1, false, opened.extras, { ...sessions, localId: stageLocal('text/') }),
      ),
    );
  const tEnd = clock.nowMs();
  emit({ type: 'stage.end', atMs: tEnd, stage: 'text', durationMs: tEnd - t0 });
  return {
    y,
    mask: toInt32Mask(input.mask),
    plan,
    peakResidentBytes: scheduler.peakResidentBytes,
    loads: { ...scheduler.loads },
  };
}

/** A mask as Int32 0/1. */
function toInt32Mask(mask: T5IntArray): Int32Array {
  const out = new Int32Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = Number(mask[i]) !== 0 ? 1 : 0;
  return out;
}
