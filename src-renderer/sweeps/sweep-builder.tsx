// The Sweeps screen's grid builder: a list of values for each axis (every technique knob of the registry, labelled
// and explained by it, plus the CI-DL budget), prompts, seeds, the paired devices, repeats, warm-up, order and the
// baseline; the thermal gate (off, or the hottest state a run may start in, a cool-down, the poll interval and the
// longest wait); the run count (countSweepRuns) and an ETA (`sweeps.estimate`: past runs' wall times on each device)
// before starting.
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { TECHNIQUE_NAMES } from '../../shared/engine/techniques/knobs';
import { THERMAL_STATES, type ThermalState } from '../../shared/protocol/thermal';
import { SWEEP_AXES, SWEEP_AXIS_NAMES } from '../../shared/sweep/axes';
import { KnobField } from '../composer/knob-field';
import { errorText, formatMs } from '../studio/format';
import { devicesQuery, studioKeys } from '../studio/queries';
import { useStudio } from '../studio/studio-context';
import {
  buildSweepSpec,
  countsFromOne,
  DEFAULT_SWEEP_FORM,
  THERMAL_TIME_FIELDS,
  type SweepForm,
  type ThermalForm,
} from './sweep-model';

/** The thermal gate's fields: a toggle, then (on) the hottest state a run may start in and the times in seconds. */
function ThermalFields({ value, onChange }: { value: ThermalForm; onChange: (v: ThermalForm) => void }) {
  return (
    <fieldset className="knobs" data-testid="sweep-thermal-fields">
      <legend>Thermal gate</legend>
      <KnobField
        label="Wait until cool"
        help="Before each run, wait until its device reports this state or a cooler one (a device that cannot tell is not waited for)."
      >
        <input
          type="checkbox"
          data-testid="sweep-thermal"
          checked={value.on}
          onChange={(e) => onChange({ ...value, on: e.target.checked })}
        />
      </KnobField>
      {value.on && (
        <>
          <KnobField label="Hottest state to start in" help="Runs start at this state or cooler.">
            <select
              data-testid="sweep-thermal-max"
              value={value.maxState}
              onChange={(e) => onChange({ ...value, maxState: e.target.value as ThermalState })}
            >
              {THERMAL_STATES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </KnobField>
          {THERMAL_TIME_FIELDS.map((f) => (
            <KnobField key={f.key} label={f.label} help={`${f.help} ${f.minS}–${f.maxS} s.`}>
              <input
                data-testid={`sweep-thermal-${f.key}`}
                type="number"
                min={f.minS}
                max={f.maxS}
                step="any"
                value={value.seconds[f.key]}
                onChange={(e) =>
                  onChange({ ...value, seconds: { ...value.seconds, [f.key]: e.target.value } })
                }
              />
            </KnobField>
          ))}
        </>
      )}
    </fieldset>
  );
}

/** The data-testid of an axis's values field: `axis-lpl-leapStep`. */
export const axisTestId = (axis: string): string => `axis-${axis.replace('.', '-')}`;

function axisLabel(axis: string): string {
  const a = SWEEP_AXES[axis]!;
  const label = a.knob?.label ?? 'Budget';
  return `${TECHNIQUE_NAMES[a.technique]} · ${label}${countsFromOne(axis) ? ' (step, from 1)' : ''}`;
}

function axisPlaceholder(axis: string): string {
  const knob = SWEEP_AXES[axis]!.knob;
  if (knob === null) return 'all, 50%, 512MiB';
  if (knob.kind === 'enum') return Object.keys(knob.values).join(', ');
  if (knob.kind === 'boolean') return 'true, false';
  return 'e.g. 2, 4';
}

/** The grid builder; `onStarted` gets the new sweep's id. */
export function SweepBuilder({ onStarted }: { onStarted: (sweepId: string) => void }) {
  const { api } = useStudio();
  const devices = useQuery(devicesQuery(api));
  const paired = (devices.data?.devices ?? []).filter((d) => d.status === 'paired');
  const [form, setForm] = useState<SweepForm>(DEFAULT_SWEEP_FORM);
  const set = <K extends keyof SweepForm>(key: K, value: SweepForm[K]): void =>
    setForm((f) => ({ ...f, [key]: value }));
  const built = buildSweepSpec(form, paired);
  const estimate = useQuery({
    queryKey: studioKeys.sweepEstimate(built.ok ? built.spec : null),
    queryFn: () => api.estimateSweep({ spec: built.ok ? built.spec : (null as never) }),
    enabled: built.ok,
    staleTime: 10_000,
  });
  const start = useMutation({
    mutationFn: () => api.startSweep({ spec: built.ok ? built.spec : (null as never) }),
    onSuccess: (r) => onStarted(r.sweep.sweepId),
  });
  const text = (
    key: 'name' | 'steps' | 'numFrames' | 'heightPx' | 'widthPx' | 'repeats' | 'warmup' | 'seeds',
  ) => ({
    value: form[key],
    onChange: (e: React.ChangeEvent<HTMLInputElement>) => set(key, e.target.value),
  });
  return (
    <form
      className="sweep-builder"
      data-testid="sweep-builder"
      onSubmit={(e) => {
        e.preventDefault();
        if (built.ok) start.mutate();
      }}
    >
      <fieldset className="knobs">
        <legend>Axes: a comma-separated list of values each (empty: not swept)</legend>
        {SWEEP_AXIS_NAMES.map((axis) => (
          <KnobField key={axis} label={axisLabel(axis)} help={SWEEP_AXES[axis]!.help}>
            <input
              data-testid={axisTestId(axis)}
              placeholder={axisPlaceholder(axis)}
              value={form.axes[axis] ?? ''}
              onChange={(e) => set('axes', { ...form.axes, [axis]: e.target.value })}
            />
          </KnobField>
        ))}
      </fieldset>
      <fieldset className="knobs">
        <legend>Runs</legend>
        <KnobField label="Prompts" help="One per line; every point runs each prompt × seed.">
          <textarea
            data-testid="sweep-prompts"
            rows={2}
            value={form.prompts}
            onChange={(e) => set('prompts', e.target.value)}
          />
        </KnobField>
        <KnobField label="Seeds" help="Comma-separated.">
          <input data-testid="sweep-seeds" {...text('seeds')} />
        </KnobField>
        <KnobField label="Steps" help="Empty: the model's default.">
          <input data-testid="sweep-steps" inputMode="numeric" {...text('steps')} />
        </KnobField>
        <KnobField label="Frames" help="Empty: the model's default.">
          <input data-testid="sweep-frames" inputMode="numeric" {...text('numFrames')} />
        </KnobField>
        <KnobField label="Height × width (px)" help="Empty: the model's default.">
          <span>
            <input data-testid="sweep-height" size={5} {...text('heightPx')} /> ×{' '}
            <input data-testid="sweep-width" size={5} {...text('widthPx')} />
          </span>
        </KnobField>
        <KnobField label="Repeats" help="Measured runs per point × prompt × seed × device.">
          <input data-testid="sweep-repeats" inputMode="numeric" {...text('repeats')} />
        </KnobField>
        <KnobField label="Warm-up" help="Runs each device makes first, left out of every statistic.">
          <input data-testid="sweep-warmup" inputMode="numeric" {...text('warmup')} />
        </KnobField>
        <KnobField
          label="Order"
          help="Interleaved: each pass runs every point once, so drift (heat) does not bias the last settings."
        >
          <select
            data-testid="sweep-order"
            value={form.order}
            onChange={(e) => set('order', e.target.value as SweepForm['order'])}
          >
            <option value="grid">grid</option>
            <option value="interleaved">interleaved</option>
            <option value="random">random</option>
          </select>
        </KnobField>
        {form.order === 'random' && (
          <KnobField label="Random order seed" help="The same seed gives the same order.">
            <input value={form.randomSeed} onChange={(e) => set('randomSeed', e.target.value)} />
          </KnobField>
        )}
        <KnobField label="Baseline" help="Techniques off, once per prompt × seed per device role.">
          <input
            type="checkbox"
            data-testid="sweep-baseline"
            checked={form.baseline}
            onChange={(e) => set('baseline', e.target.checked)}
          />
        </KnobField>
        <KnobField label="Name" help="Optional; run labels and the journal show it.">
          <input data-testid="sweep-name" {...text('name')} />
        </KnobField>
      </fieldset>
      <ThermalFields value={form.thermal} onChange={(v) => set('thermal', v)} />
      <fieldset className="sweep-devices">
        <legend>Devices (paired), one job each at a time, in parallel</legend>
        {paired.length === 0 && <p className="muted">No paired device: pair one on the Devices screen.</p>}
        {paired.map((d) => (
          <label key={d.id}>
            <input
              type="checkbox"
              data-testid="sweep-device"
              data-device-id={d.id}
              checked={form.deviceIds.includes(d.id)}
              onChange={(e) =>
                set(
                  'deviceIds',
                  e.target.checked ? [...form.deviceIds, d.id] : form.deviceIds.filter((x) => x !== d.id),
                )
              }
            />{' '}
            {d.name} <small className="muted">({d.role})</small>
          </label>
        ))}
      </fieldset>
      {!built.ok && (
        <ul className="error" data-testid="sweep-problems">
          {built.problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
      {built.ok && (
        <p data-testid="sweep-count" data-total={built.runs.total}>
          <strong>{built.runs.total} runs</strong>: {built.runs.measured} measured, {built.runs.baseline}{' '}
          baseline, {built.runs.warmup} warm-up.{' '}
          <span data-testid="sweep-eta">
            {estimate.data === undefined
              ? 'Estimating…'
              : estimate.data.etaMs === null
                ? `ETA unknown (${estimate.data.devices
                    .filter((d) => d.perRunMs === null)
                    .map((d) => `${d.device}: ${d.basis}`)
                    .join('; ')})`
                : `ETA about ${formatMs(estimate.data.etaMs)} (${estimate.data.devices
                    .map((d) => `${d.device}: ${d.runs} × ${formatMs(d.perRunMs)}, ${d.basis}`)
                    .join('; ')})`}
          </span>
        </p>
      )}
      <button type="submit" data-testid="sweep-start" disabled={!built.ok || start.isPending}>
        Start sweep
      </button>
      {start.isError && <p className="error">{errorText(start.error)}</p>}
    </form>
  );
}
