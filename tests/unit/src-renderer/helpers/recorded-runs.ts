// The recorded event streams in tests/fixtures/studio (see record.mjs there), validated with the contract's schemas
// so a fixture that drifted from the protocol fails loudly here rather than as a puzzling view test.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { runEventSchema, runParamsSchema } from '../../../../shared/protocol/run';

const fixtureSchema = z.object({
  recordedWith: z.string(),
  params: runParamsSchema,
  wallMs: z.number(),
  events: z.array(z.strictObject({ seq: z.number().int().positive(), event: runEventSchema })),
  frames: z.array(z.string()),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
});

/** One recorded run. */
export type RecordedRun = z.infer<typeof fixtureSchema>;

const dir = join(__dirname, '../../../fixtures/studio');

/** Loads `paper-defaults` (30 steps, LPL at 15, TDTM 15, CI-DL 50 %) or `baseline` (all off). */
export function recordedRun(name: 'paper-defaults' | 'baseline'): RecordedRun {
  return fixtureSchema.parse(JSON.parse(readFileSync(join(dir, `${name}.run.json`), 'utf8')));
}
