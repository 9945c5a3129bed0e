import { describe, expect, it } from 'vitest';
import {
  buildRunParams,
  DEFAULT_FORM,
  formFromParams,
  PRESETS,
  stepOfRunLabel,
  type ComposerForm,
} from '../../../../src-renderer/composer/composer-model';
import { LPL_FIXED_KNOBS } from '../../../../shared/engine/techniques/knobs';

function preset(id: 'paper' | 'baseline' | 'demo', from: ComposerForm = DEFAULT_FORM): ComposerForm {
  const p = PRESETS.find((x) => x.id === id);
  if (p === undefined) throw new Error(`no preset ${id}`);
  return p.apply(from);
}

describe('composer presets', () => {
  it('paper defaults: 30 steps, LPL fixed at 15, TDTM 15, CI-DL on', () => {
    const start: ComposerForm = {
      ...DEFAULT_FORM,
      steps: 12,
      lpl: { ...DEFAULT_FORM.lpl, mode: 'off' },
      tdtm: { ...DEFAULT_FORM.tdtm, mergeSteps: 0 },
      cidl: { ...DEFAULT_FORM.cidl, enabled: false },
    };
    const r = buildRunParams(preset('paper', start));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.params.steps).toBe(30);
    expect(r.params.lpl).toEqual({ mode: 'fixed', leapStep: 15 });
    expect(r.params.tdtm).toEqual({ mergeSteps: 15 });
    expect(r.params.cidl?.budget.kind).not.toBe('unlimited');
    expect(r.params.cidl?.policy).toBe('paper');
  });

  it('baseline: every technique off, all blocks resident', () => {
    const r = buildRunParams(preset('baseline'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.params.lpl).toEqual({ mode: 'off' });
    expect(r.params.tdtm).toEqual({ mergeSteps: 0 });
    expect(r.params.cidl).toMatchObject({ budget: { kind: 'unlimited' }, policy: 'none' });
  });

  it('demo: a short run that leaps and merges, with a tight budget and frequent previews', () => {
    const r = buildRunParams(preset('demo'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.params.steps).toBeLessThan(30);
    expect(r.params.lpl).toEqual({ mode: 'fixed', leapStep: 9 }); // LPL 10/20
    expect(r.params.cidl?.budget).toEqual({ kind: 'fraction', of: 0.5 });
    expect(r.preview?.everySteps).toBe(2);
  });
});

describe('composer validation', () => {
  it('counts the leap step from 1, as LPL N/steps: 30 of 30 leaps at the last step, 31 and 0 are refused', () => {
    const fixedAt = (lplStep: number): ComposerForm => ({
      ...DEFAULT_FORM,
      steps: 30,
      lpl: {
        ...DEFAULT_FORM.lpl,
        mode: 'fixed',
        fixed: { ...DEFAULT_FORM.lpl.fixed, leapStep: lplStep - 1 },
      },
    });
    const last = buildRunParams(fixedAt(30));
    expect(last.ok && last.params.lpl).toEqual({ mode: 'fixed', leapStep: 29 });
    for (const lplStep of [31, 0]) {
      const r = buildRunParams(fixedAt(lplStep));
      expect(r).toMatchObject({ ok: false, field: 'lpl' });
      if (!r.ok) expect(r.reason).toMatch(/counted from 1 and must be 1\.\.30 .*\(LPL N\/30\), got/);
    }
    const leap = LPL_FIXED_KNOBS.leapStep;
    expect(stepOfRunLabel(leap, 15, 30)).toBe('LPL 16/30');
    expect(stepOfRunLabel(leap, Number.NaN, 20)).toBe('LPL ?/20');
  });

  it('refuses more TDTM merge steps than steps', () => {
    const r = buildRunParams({
      ...DEFAULT_FORM,
      steps: 20,
      lpl: { ...DEFAULT_FORM.lpl, fixed: { ...DEFAULT_FORM.lpl.fixed, leapStep: 9 } },
      tdtm: { ...DEFAULT_FORM.tdtm, mergeSteps: 21 },
    });
    expect(r).toMatchObject({ ok: false, field: 'tdtm.mergeSteps' });
    if (!r.ok) expect(r.reason).toMatch(/21.*exceed.*20/);
  });

  it('refuses a budget it cannot read, with the accepted forms', () => {
    const r = buildRunParams({ ...DEFAULT_FORM, cidl: { ...DEFAULT_FORM.cidl, budget: 'lots' } });
    expect(r).toMatchObject({ ok: false, field: 'cidl.budget' });
  });

  it('refuses what the contract schema refuses (an empty prompt, a negative seed), naming the field', () => {
    expect(buildRunParams({ ...DEFAULT_FORM, prompt: '  ' })).toMatchObject({ ok: false, field: 'prompt' });
    const seed = buildRunParams({ ...DEFAULT_FORM, seed: -1 });
    expect(seed).toMatchObject({ ok: false, field: 'seed' });
    const blank = buildRunParams({ ...DEFAULT_FORM, steps: Number.NaN });
    expect(blank).toMatchObject({ ok: false, field: 'steps' });
  });

  it('round-trips a run\'s parameters for "run again"', () => {
    const r = buildRunParams(preset('demo'));
    if (!r.ok) throw new Error(r.reason);
    const again = buildRunParams(formFromParams(r.params, r.preview));
    expect(again).toEqual(r);
  });
});
