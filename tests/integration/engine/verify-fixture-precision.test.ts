// `odsora verify-fixture --precision f16|int8`: each golden fixture converted to half or int8 weights and held to
// the documented range tolerance (docs/precision.md): every float tensor within 1 % (f16) / 10 % (int8) of the
// golden tensor's largest magnitude; CI-DL runs must still equal all-resident exactly. The precision must really
// be applied: the outputs move off the float32 goldens by far more than float32 rounding does.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBuilt, REPO_ROOT, runOdsora } from '../../helpers/odsora-cli';

interface Row {
  name: string;
  pass: boolean;
  maxAbs: number;
  tolerance: { atol: number; rtol: number };
}

beforeAll(() => ensureCliBuilt());

const RANGE = { f16: 0.01, int8: 0.1 } as const;
/** The final output row of each fixture kind. */
const OUTPUT = {
  'opensora-tiny': 'sampling plain.z_final',
  't5-tiny': 't5 out.last_hidden_state',
  'vae-tiny': 'video.x',
} as const;

describe('golden fixtures on reduced-precision weights', () => {
  for (const fixture of ['opensora-tiny', 't5-tiny', 'vae-tiny'] as const)
    for (const precision of ['f16', 'int8'] as const)
      it(`${fixture} at ${precision} is within its documented tolerance, and visibly not float32`, () => {
        const r = runOdsora([
          'verify-fixture',
          join(REPO_ROOT, 'tests', 'fixtures', fixture),
          '--precision',
          precision,
          '--json',
        ]);
        expect(r.status, r.stderr).toBe(0);
        const report = JSON.parse(r.stdout) as { pass: boolean; rows: Row[] };
        expect(report.pass).toBe(true);
        const out = report.rows.find((row) => row.name === `${OUTPUT[fixture]} [${precision}]`);
        expect(out, `row ${OUTPUT[fixture]} [${precision}]`).toBeDefined();
        // atol = fraction · max|golden|, so this is the error relative to the tensor's range.
        const relative = (out!.maxAbs * RANGE[precision]) / out!.tolerance.atol;
        expect(relative).toBeLessThan(RANGE[precision]);
        expect(relative).toBeGreaterThan(precision === 'f16' ? 1e-4 : 1e-3);
        // CI-DL stays exact whatever the precision.
        for (const row of report.rows.filter((x) => x.name.includes('== all resident')))
          expect(row.maxAbs, row.name).toBe(0);
      });
});
