// The composer's technique knobs: LPL (off / fixed / dynamic), TDTM, CI-DL and previews. Labels, help and bounds
// are the technique registry's (shared/engine/techniques/knobs.ts); the dynamic LPL knobs are rendered from it.
import {
  CIDL_BUDGET,
  CIDL_HELP,
  LPL_DYNAMIC_KNOBS,
  LPL_FIXED_KNOBS,
  LPL_HELP,
  LPL_MODES,
  lplStepOfLeapStep,
  TDTM_KNOBS,
  type KnobSpec,
  type LplDynamicSettings,
} from '../../shared/engine/techniques/knobs';
import { lplLabel, type ComposerForm } from './composer-model';
import { KnobField, NumberKnob, numberValue, shown } from './knob-field';

/** `minimumSteps` → `minimum-steps`. */
function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** One registry knob as a form control: a number input, a select of its values, or a checkbox. */
function RegistryKnob({
  spec,
  testId,
  value,
  set,
}: {
  spec: KnobSpec;
  testId: string;
  value: number | string | boolean;
  set: (value: number | string | boolean) => void;
}) {
  const help = spec.origin === undefined ? spec.help : `${spec.help} (${spec.origin})`;
  let control;
  if (spec.kind === 'enum')
    control = (
      <select data-testid={testId} value={String(value)} onChange={(e) => set(e.target.value)}>
        {Object.entries(spec.values).map(([v, label]) => (
          <option key={v} value={v}>
            {label}
          </option>
        ))}
      </select>
    );
  else if (spec.kind === 'boolean')
    control = (
      <input
        data-testid={testId}
        type="checkbox"
        checked={value === true}
        onChange={(e) => set(e.target.checked)}
      />
    );
  else
    control = (
      <input
        data-testid={testId}
        type="number"
        min={spec.min}
        step={spec.kind === 'number' ? spec.step : undefined}
        value={shown(value as number)}
        onChange={(e) => set(numberValue(e.target.value))}
      />
    );
  return (
    <KnobField label={spec.label} help={help}>
      {control}
    </KnobField>
  );
}

/** LPL, TDTM, CI-DL and preview fields. */
export function TechniqueFields({
  form,
  set,
}: {
  form: ComposerForm;
  set: (patch: Partial<ComposerForm>) => void;
}) {
  return (
    <fieldset className="knobs techniques">
      <legend>Techniques</legend>
      <KnobField label="LPL (Linear Proportional Leap)" help={LPL_HELP}>
        <select
          data-testid="lpl-mode"
          value={form.lplMode}
          onChange={(e) => set({ lplMode: e.target.value as ComposerForm['lplMode'] })}
        >
          {Object.entries(LPL_MODES).map(([mode, label]) => (
            <option key={mode} value={mode}>
              {label}
            </option>
          ))}
        </select>
      </KnobField>
      {form.lplMode === 'fixed' && (
        <NumberKnob
          form={form}
          set={set}
          field="lplStep"
          testId="lpl-step"
          label={
            <>
              {LPL_FIXED_KNOBS.leapStep.label} (<span data-testid="lpl-label">{lplLabel(form)}</span>)
            </>
          }
          help={LPL_FIXED_KNOBS.leapStep.help}
          min={lplStepOfLeapStep(LPL_FIXED_KNOBS.leapStep.min)}
        />
      )}
      {form.lplMode === 'dynamic' &&
        Object.entries(LPL_DYNAMIC_KNOBS).map(([field, spec]) => (
          <RegistryKnob
            key={field}
            spec={spec}
            testId={`lpl-${kebab(field)}`}
            value={form.lplDynamic[field as keyof LplDynamicSettings]}
            set={(value) => set({ lplDynamic: { ...form.lplDynamic, [field]: value } })}
          />
        ))}
      <NumberKnob
        form={form}
        set={set}
        field="tdtmSteps"
        testId="tdtm-steps"
        label={TDTM_KNOBS.mergeSteps.label}
        help={TDTM_KNOBS.mergeSteps.help}
        min={TDTM_KNOBS.mergeSteps.min}
      />
      <KnobField label="CI-DL" help={CIDL_HELP}>
        <input
          data-testid="cidl-enabled"
          type="checkbox"
          checked={form.cidlEnabled}
          onChange={(e) => set({ cidlEnabled: e.target.checked })}
        />
      </KnobField>
      {form.cidlEnabled && (
        <KnobField label={CIDL_BUDGET.label} help={CIDL_BUDGET.help}>
          <input
            data-testid="cidl-budget"
            type="text"
            value={form.cidlBudget}
            onChange={(e) => set({ cidlBudget: e.target.value })}
          />
        </KnobField>
      )}
      <KnobField
        label="Live previews"
        help="Decode small frames every few steps while the run goes (costs a little time)."
      >
        <span className="pair-inputs">
          <input
            data-testid="preview-enabled"
            type="checkbox"
            checked={form.previews}
            onChange={(e) => set({ previews: e.target.checked })}
          />
          {form.previews && (
            <input
              aria-label="Preview every N steps"
              data-testid="preview-every"
              type="number"
              min={1}
              value={shown(form.previewEverySteps)}
              onChange={(e) => set({ previewEverySteps: numberValue(e.target.value) })}
            />
          )}
        </span>
      </KnobField>
    </fieldset>
  );
}
