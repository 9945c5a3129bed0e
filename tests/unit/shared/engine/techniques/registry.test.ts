// The technique registry: the docs table matches it, and what it derives (defaults, the wire schema, CLI parsing,
// summaries, the cross-field rules) says the same thing everywhere.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLplFlag, techniqueFlagOf } from '../../../../../shared/engine/techniques/cli';
import { techniqueRulesList, techniquesTable } from '../../../../../shared/engine/techniques/docs';
import { LPL_DYNAMIC_KNOBS, PYTHON_DYNAMIC_LPL } from '../../../../../shared/engine/techniques/knobs';
import { describeTechniques } from '../../../../../shared/engine/techniques/summary';
import { tdtmProblem, validateLplOptions } from '../../../../../shared/engine/techniques/validate';
import { lplSchema } from '../../../../../shared/protocol/run';
import { DEFAULT_FORM, buildRunParams } from '../../../../../src-renderer/composer/composer-model';

/** Table rows as trimmed cells (prettier may realign the columns), separator rows dropped. */
function rows(markdown: string): string[][] {
  return markdown
    .split('\n')
    .filter((l) => l.trim().startsWith('|'))
    .map((l) =>
      l
        .trim()
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim()),
    )
    .filter((cells) => !cells.every((c) => /^:?-+:?$/.test(c)));
}

function between(text: string, name: string): string {
  const start = text.indexOf(`<!-- ${name}:start -->`);
  const end = text.indexOf(`<!-- ${name}:end -->`);
  if (start < 0 || end < 0) throw new Error(`docs/techniques.md has no ${name} markers`);
  return text.slice(start, end);
}

describe('technique registry', () => {
  const doc = readFileSync(join(__dirname, '../../../../../docs/techniques.md'), 'utf8');

  it('docs/techniques.md shows the registry: every knob and every cross-field rule', () => {
    const table = techniquesTable();
    expect(rows(between(doc, 'knobs')), `paste into docs/techniques.md:\n${table}`).toEqual(rows(table));
    const rules = techniqueRulesList();
    expect(between(doc, 'rules').replace(/\s+/g, ' '), `paste:\n${rules}`).toContain(
      rules.replace(/\s+/g, ' '),
    );
  });

  it("the dynamic defaults are the authors' constants, in the composer too", () => {
    expect(PYTHON_DYNAMIC_LPL).toEqual({
      mode: 'dynamic',
      minimumSteps: 14,
      tolerance: 1e-3,
      patience: 3,
      measure: 'reference-slice',
    });
    const r = buildRunParams({ ...DEFAULT_FORM, lpl: { ...DEFAULT_FORM.lpl, mode: 'dynamic' } });
    expect(r.ok && r.params.lpl).toEqual(PYTHON_DYNAMIC_LPL);
  });

  it('a dynamic minimum step at or past the step count is accepted by engine, wire and composer alike', () => {
    const late = { ...PYTHON_DYNAMIC_LPL, minimumSteps: 30 };
    expect(validateLplOptions(late, 30)).toBe(late);
    expect(lplSchema.safeParse(late).success).toBe(true);
    const r = buildRunParams({
      ...DEFAULT_FORM,
      lpl: {
        ...DEFAULT_FORM.lpl,
        mode: 'dynamic',
        dynamic: { ...DEFAULT_FORM.lpl.dynamic, minimumSteps: 30 },
      },
    });
    expect(r.ok).toBe(true);
  });

  it('the wire schema takes exactly the bounds the engine takes', () => {
    for (const [field, spec] of Object.entries(LPL_DYNAMIC_KNOBS)) {
      if (spec.kind !== 'int') continue;
      for (const v of [spec.min - 1, spec.min, spec.max, spec.max + 1]) {
        const options = { ...PYTHON_DYNAMIC_LPL, [field]: v };
        let engine = true;
        try {
          validateLplOptions(options);
        } catch {
          engine = false;
        }
        expect(lplSchema.safeParse(options).success, `${field} = ${v}`).toBe(engine);
      }
    }
  });

  it('the CLI reads every dynamic knob by its registry key, with aliases', () => {
    expect(parseLplFlag('dynamic:min=5,tol=1e-4,patience=2,measure=slice')).toEqual({
      mode: 'dynamic',
      minimumSteps: 5,
      tolerance: 1e-4,
      patience: 2,
      measure: 'reference-slice',
    });
    expect(parseLplFlag('dynamic')).toEqual(PYTHON_DYNAMIC_LPL);
    expect(parseLplFlag('fixed')).toEqual({ mode: 'fixed', leapStep: 15 });
    expect(() => parseLplFlag('dynamic:patience=0')).toThrow(/patience must be an integer ≥ 1/);
    expect(() => parseLplFlag('dynamic:speed=2')).toThrow(
      /unknown key 'speed' \(min, tol, patience, measure\)/,
    );
    expect(techniqueFlagOf('lpl.leapStep')).toBe('--lpl');
    expect(techniqueFlagOf('tdtm.mergeSteps')).toBe('--tdtm');
  });

  it('summarises a run the same way everywhere', () => {
    const params = {
      steps: 30,
      lpl: { mode: 'fixed', leapStep: 15 } as const,
      tdtm: { mergeSteps: 15 },
      cidl: { budget: { kind: 'fraction', of: 0.5 } as const, policy: 'paper' as const },
    };
    expect(describeTechniques(params, String)).toEqual(['LPL 16/30', 'TDTM 15', 'CI-DL 50 %']);
    expect(describeTechniques({ cidl: { budget: { kind: 'unlimited' }, policy: 'none' } }, String)).toEqual([
      'LPL off',
      'TDTM off',
      'CI-DL off',
    ]);
  });

  it('TDTM: at most the step count, and 2 latent frames to merge', () => {
    expect(tdtmProblem(31, { steps: 30 })).toMatch(/\(31\) exceed the step count 30/);
    expect(tdtmProblem(1, { latentFrames: 1 })).toMatch(/at least 2 latent frames/);
    expect(tdtmProblem(-1)).toMatch(/non-negative integer/);
    expect(tdtmProblem(30, { steps: 30, latentFrames: 2 })).toBeNull();
  });
});
