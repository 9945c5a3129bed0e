// The composer's technique knobs: LPL (off / fixed / dynamic), TDTM, CI-DL and previews.
import { lplLabel, type ComposerForm } from './composer-model';
import { KnobField, NumberKnob, numberValue, shown } from './knob-field';

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
      <KnobField
        label="LPL (Linear Proportional Leap)"
        help="Stops denoising early and jumps straight to the end along the current velocity: fixed at a step, or when the cosine of consecutive velocities stops improving (dynamic)."
      >
        <select
          data-testid="lpl-mode"
          value={form.lplMode}
          onChange={(e) => set({ lplMode: e.target.value as ComposerForm['lplMode'] })}
        >
          <option value="off">off</option>
          <option value="fixed">fixed step</option>
          <option value="dynamic">dynamic</option>
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
              Leap at step (<span data-testid="lpl-label">{lplLabel(form)}</span>)
            </>
          }
          help="Counted from 1: this step leaps, so this many of the steps run the model. LPL 16/30 is the paper’s setting, the same as odsora generate --lpl fixed:16 --steps 30."
          min={1}
        />
      )}
      {form.lplMode === 'dynamic' && (
        <>
          <NumberKnob
            form={form}
            set={set}
            field="minimumSteps"
            testId="lpl-min-steps"
            label="Minimum steps"
            help="First step whose cosine counts toward the decision (Python: 14)."
            min={0}
          />
          <NumberKnob
            form={form}
            set={set}
            field="tolerance"
            testId="lpl-tolerance"
            label="Tolerance"
            help="An improvement of the best cosine smaller than this does not count (Python 1e-3, paper 1e-4)."
            min={0}
            step="0.0001"
          />
          <NumberKnob
            form={form}
            set={set}
            field="patience"
            testId="lpl-patience"
            label="Patience"
            help="Non-improving steps allowed before leaping (Python: 3)."
            min={1}
          />
          <KnobField label="Measure" help="Cosine over the whole velocity, or Python's reference slice.">
            <select
              data-testid="lpl-measure"
              value={form.measure}
              onChange={(e) => set({ measure: e.target.value as ComposerForm['measure'] })}
            >
              <option value="whole">whole tensor</option>
              <option value="reference-slice">reference slice (Python)</option>
            </select>
          </KnobField>
        </>
      )}
      <NumberKnob
        form={form}
        set={set}
        field="tdtmSteps"
        testId="tdtm-steps"
        label="TDTM merge steps"
        help="Temporal Dimension Token Merging: the first N steps run with pairs of frames merged (about half the attention cost); 0 = off, at most the step count."
        min={0}
      />
      <KnobField
        label="CI-DL"
        help="Concurrent Inference with Dynamic Loading: blocks load while others compute and leave memory when the budget is full. Off: every block stays resident."
      >
        <input
          data-testid="cidl-enabled"
          type="checkbox"
          checked={form.cidlEnabled}
          onChange={(e) => set({ cidlEnabled: e.target.checked })}
        />
      </KnobField>
      {form.cidlEnabled && (
        <KnobField
          label="CI-DL budget"
          help="Block memory allowed: auto (what the device has), a share of the blocks (50%) or a size (512MiB)."
        >
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
