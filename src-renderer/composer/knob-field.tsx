// One labelled composer field with its inline explanation.
import type { ReactNode } from 'react';
import type { ComposerForm } from './composer-model';

/** A label, the control, and one or two lines saying what the knob does. */
export function KnobField({
  label,
  help,
  children,
}: {
  label: ReactNode;
  help: string;
  children: ReactNode;
}) {
  return (
    <label className="knob">
      <span className="knob-label">{label}</span>
      {children}
      <small className="knob-help">{help}</small>
    </label>
  );
}

/** Parses a number input ('' → NaN, which validation then names). */
export function numberValue(text: string): number {
  return text.trim() === '' ? Number.NaN : Number(text);
}

/** Parses an optional number input ('' → null: the model's default). */
export function optionalNumber(text: string): number | null {
  return text.trim() === '' ? null : Number(text);
}

/** What a number input shows for `v` (NaN and null: empty). */
export function shown(v: number | null): string {
  return v === null || Number.isNaN(v) ? '' : String(v);
}

/** The composer fields that hold a required number. */
export type NumberField = {
  [K in keyof ComposerForm]: ComposerForm[K] extends number ? K : never;
}[keyof ComposerForm];

/** A {@link KnobField} with one number input bound to `form[field]` ('' shows as empty and validates as NaN). */
export function NumberKnob({
  form,
  set,
  field,
  label,
  help,
  testId,
  min,
  step,
}: {
  form: ComposerForm;
  set: (patch: Partial<ComposerForm>) => void;
  field: NumberField;
  label: ReactNode;
  help: string;
  testId: string;
  min?: number;
  step?: string;
}) {
  return (
    <KnobField label={label} help={help}>
      <input
        data-testid={testId}
        type="number"
        min={min}
        step={step}
        value={shown(form[field])}
        onChange={(e) => set({ [field]: numberValue(e.target.value) })}
      />
    </KnobField>
  );
}
