/**
 * The `generate` section of a run folder's run.json: what `odsora generate` knows beyond a studio run (its command
 * line, provenance down to each block's SHA-256, the prompt's tokens, the output files, per-stage memory, the
 * denoise loop and its timings). A run made by the CLI is an ordinary run folder (run-folder.ts) with this section,
 * so the studio's history lists it like any other.
 */
import { z } from 'zod';

const nonNeg = z.number().nonnegative();
const nullableNonNeg = nonNeg.nullable();

/** One block of the model, as run.json lists it for provenance. */
const blockSchema = z.strictObject({
  stage: z.string(),
  id: z.string(),
  file: z.string(),
  bytes: nonNeg,
  sha256: z.string(),
});

/** One stage's memory: the prediction beside the measured process peak (docs/memory.md). */
const stageMemorySchema = z.looseObject({
  stage: z.string(),
  predictedPeakBytes: nullableNonNeg,
  measuredPeakBytes: nullableNonNeg,
  predictionError: z.number().nullable(),
});

/** run.json's `generate` section. */
export const generateSectionSchema = z.strictObject({
  /** The command line after `node odsora.cjs`. */
  argv: z.array(z.string()),
  /** Whether the seed came from `--seed` or was drawn because none was given. */
  seedChosen: z.enum(['given', 'random']),
  /**
   * The parameters as the engine resolved them (every default filled in, the derived latent sizes, a
   * `--memory-limit` process budget, which the run's wire `params` show as `auto` or its cap).
   */
  resolvedParams: z.record(z.string(), z.unknown()),
  provenance: z.strictObject({
    engineVersion: z.string(),
    gitCommit: z.string().nullable(),
    model: z.strictObject({
      name: z.string(),
      family: z.string(),
      createdBy: z.unknown(),
      blockSetDir: z.string(),
      sourceDir: z.string().nullable(),
      sourceSha256: z.string().nullable(),
      convertedNow: z.boolean(),
      blocks: z.array(blockSchema),
    }),
    host: z.strictObject({
      os: z.string(),
      arch: z.string(),
      cpu: z.string().nullable(),
      cores: z.number().int().nonnegative(),
      node: z.string(),
      backend: z.string(),
    }),
  }),
  tokens: z.strictObject({
    ids: z.array(z.number().int()),
    mask: z.array(z.number().int()),
    validLength: z.number().int().nonnegative(),
    truncated: z.boolean(),
    unknownWords: z.array(z.string()),
  }),
  /** The files beside run.json (paths relative to the folder). */
  outputs: z.looseObject({
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    frameCount: z.number().int().positive(),
    fps: z.number().positive(),
    frames: z.array(z.string()),
  }),
  memory: z.strictObject({
    limitBytes: nullableNonNeg,
    processPeakBytes: nullableNonNeg,
    stages: z.array(stageMemorySchema),
    preflight: z.unknown(),
  }),
  denoise: z.strictObject({
    timesteps: z.array(z.number()),
    leapStep: z.number().int().nonnegative().nullable(),
    modelCalls: z.number().int().nonnegative(),
    peakResidentBytes: nonNeg,
    loads: z.strictObject({ count: z.number().int().nonnegative(), bytes: nonNeg }),
    plan: z.unknown(),
  }),
  timings: z.looseObject({
    modelMs: nonNeg,
    loadMs: nonNeg,
    textMs: nonNeg,
    denoiseMs: nonNeg,
    decodeMs: nonNeg,
    totalMs: nonNeg,
    compileMs: nonNeg,
    steps: z.array(
      z.strictObject({
        step: z.number().int().nonnegative(),
        t: z.number(),
        latencyMs: nonNeg,
        cosine: z.number().nullable(),
        leapt: z.boolean(),
        merged: z.boolean(),
      }),
    ),
  }),
});

/** run.json's `generate` section. */
export type GenerateSection = z.infer<typeof generateSectionSchema>;
