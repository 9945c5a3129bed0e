// The composer's technique knobs: LPL (off / fixed / dynamic), TDTM, CI-DL and previews. Every knob is rendered
// from the technique registry (shared/engine/techniques/knobs.ts): label, help, bounds and control from its spec,
// so a knob added there gets its control here with no edit. Special presentations follow the spec, not the name:
// a `stepOfRun` knob (the fixed leap) shows the step counted from 1 with its live `LPL 16/30` label.
import { kebab } from '../../shared/engine/techniques/cli';
import {
  CIDL_BUDGET,
  CIDL_HELP,
  CIDL_KNOBS,
  LPL_DYNAMIC_KNOBS,
  LPL_FIXED_KNOBS,
  LPL_HELP,
  LPL_MODES,
  leapStepOfLplStep,
  lplStepOfLeapStep,
  TDTM_KNOBS,
  type KnobSpec,
  type KnobValues,
  type TechniqueKey,
} from '../../shared/engine/techniques/knobs';
import { stepOfRunLabel, type ComposerForm } from './composer-model';
import { KnobField, numberValue, shown } from './knob-field';

/** The data-testid of a registry knob's control: `lpl-minimum-steps`, `tdtm-merge-steps`, `cidl-verify`. */
export function knobTestId(technique: TechniqueKey, field: string): string {
  return `${technique}-${kebab(field)}`;
}

/** A number input's value for a knob: a `stepOfRun` step is shown counted from 1. */
function numberControl(spec: KnobSpec & { kind: 'int' | 'number' }, value: number) {
  const fromOne = spec.kind === 'int' && spec.stepOfRun !== undefined;
  return {
    min: fromOne ? lplStepOfLeapStep(spec.min) : spec.min,
    shownValue: shown(fromOne ? lplStepOfLeapStep(value) : value),
    read: (text: string) => (fromOne ? leapStepOfLplStep(numberValue(text)) : numberValue(text)),
  };
}

/** One registry knob as a form control: a number input, a select of its values, or a checkbox. */
function RegistryKnob({
  spec,
  testId,
  value,
  steps,
  set,
}: {
  spec: KnobSpec;
  testId: string;
  value: number | string | boolean;
  steps: number;
  set: (value: number | string | boolean) => void;
}) {
  const help = spec.origin === undefined ? spec.help : `${spec.help} (${spec.origin})`;
  let control;
  let label: React.ReactNode = spec.label;
  if (spec.kind === 'enum')
    control = (
      <select data-testid={testId} value={String(value)} onChange={(e) => set(e.target.value)}>
        {Object.entries(spec.values).map(([v, text]) => (
          <option key={v} value={v}>
            {text}
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
  else {
    const n = numberControl(spec, value as number);
    if (spec.kind === 'int' && spec.stepOfRun !== undefined)
      label = (
        <>
          {spec.label} (
          <span data-testid={`${testId}-label`}>{stepOfRunLabel(spec, value as number, steps)}</span>)
        </>
      );
    control = (
      <input
        data-testid={testId}
        type="number"
        min={n.min}
        step={spec.kind === 'number' ? spec.step : undefined}
        value={n.shownValue}
        onChange={(e) => set(n.read(e.target.value))}
      />
    );
  }
  return (
    <KnobField label={label} help={help}>
      {control}
    </KnobField>
  );
}

/** Every knob of one registry table, each bound to its value in `values`. */
function KnobTable<T extends Record<string, KnobSpec>>({
  technique,
  knobs,
  values,
  steps,
  set,
}: {
  technique: TechniqueKey;
  knobs: T;
  values: KnobValues<T>;
  steps: number;
  set: (values: KnobValues<T>) => void;
}) {
  const current = values as Record<string, number | string | boolean>;
  return (
    <>
      {Object.entries(knobs).map(([field, spec]) => (
        <RegistryKnob
          key={field}
          spec={spec}
          testId={knobTestId(technique, field)}
          value={current[field]!}
          steps={steps}
          set={(value) => set({ ...values, [field]: value })}
        />
      ))}
    </>
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
          value={form.lpl.mode}
          onChange={(e) => set({ lpl: { ...form.lpl, mode: e.target.value as ComposerForm['lpl']['mode'] } })}
        >
          {Object.entries(LPL_MODES).map(([mode, label]) => (
            <option key={mode} value={mode}>
              {label}
            </option>
          ))}
        </select>
      </KnobField>
      {form.lpl.mode !== 'off' && (
        <KnobTable
          technique="lpl"
          knobs={form.lpl.mode === 'fixed' ? LPL_FIXED_KNOBS : LPL_DYNAMIC_KNOBS}
          values={form.lpl[form.lpl.mode]}
          steps={form.steps}
          set={(values) => set({ lpl: { ...form.lpl, [form.lpl.mode]: values } })}
        />
      )}
      <KnobTable
        technique="tdtm"
        knobs={TDTM_KNOBS}
        values={form.tdtm}
        steps={form.steps}
        set={(tdtm) => set({ tdtm })}
      />
      <KnobField label="CI-DL" help={CIDL_HELP}>
        <input
          data-testid="cidl-enabled"
          type="checkbox"
          checked={form.cidl.enabled}
          onChange={(e) => set({ cidl: { ...form.cidl, enabled: e.target.checked } })}
        />
      </KnobField>
      {form.cidl.enabled && (
        <>
          <KnobField label={CIDL_BUDGET.label} help={CIDL_BUDGET.help}>
            <input
              data-testid="cidl-budget"
              type="text"
              value={form.cidl.budget}
              onChange={(e) => set({ cidl: { ...form.cidl, budget: e.target.value } })}
            />
          </KnobField>
          <KnobTable
            technique="cidl"
            knobs={CIDL_KNOBS}
            values={form.cidl.knobs}
            steps={form.steps}
            set={(knobs) => set({ cidl: { ...form.cidl, knobs } })}
          />
        </>
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
