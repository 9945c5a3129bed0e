// Composer: prompt, seed, size, sampler and the three techniques, with presets, inline explanations, validation
// before sending, and the device's memory preflight.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { BaselineChoiceNote, useBaselineChoice } from '../compare/baseline-choice';
import { navigate } from '../routes';
import { formatBytes } from '../../shared/format';
import { errorText } from '../studio/format';
import { devicesQuery, preflightQuery, runQuery, studioKeys } from '../studio/queries';
import { useStudio } from '../studio/studio-context';
import { deviceDistinctions, deviceLabel } from '../devices/device-labels';
import { buildRunParams, DEFAULT_FORM, formFromParams, PRESETS, type ComposerForm } from './composer-model';
import { TechniqueFields } from './technique-fields';
import { KnobField, NumberKnob, optionalNumber, shown } from './knob-field';
import { PromptWords, replaceFirstUnknown } from './prompt-words';

function Preflight({ deviceId, result }: { deviceId: string; result: ReturnType<typeof buildRunParams> }) {
  const { api } = useStudio();
  const params = result.ok ? result.params : null;
  const query = useQuery({
    ...preflightQuery(api, deviceId, params ?? { prompt: '-', seed: 0 }),
    enabled: params !== null,
  });
  if (params === null) return null;
  if (query.isPending) return <p className="muted">Checking memory…</p>;
  if (query.isError) return <p className="error">Preflight failed: {errorText(query.error)}</p>;
  const p = query.data;
  return (
    <section
      className={`preflight ${p.fits ? 'fits' : 'no-fit'}`}
      data-testid="preflight"
      data-fits={String(p.fits)}
    >
      <h2>Memory preflight: {p.fits ? 'fits' : 'does not fit'}</h2>
      <p>
        Predicted peak {formatBytes(p.predictedPeakBytes)} of {formatBytes(p.totalBlockBytes)} in {p.blocks}{' '}
        blocks · budget {p.budgetBytes === null ? 'unlimited' : formatBytes(p.budgetBytes)} · device has{' '}
        {formatBytes(p.availableBytes)}
      </p>
      {p.notes.length > 0 && (
        <ul className="notes">
          {p.notes.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** The Composer screen; `rerunOf` pre-fills it from a past run ("run again with these parameters"). */
export function ComposerScreen({ rerunOf }: { rerunOf: string | null }) {
  const { readOnly } = useStudio();
  if (readOnly) {
    return (
      <section className="screen" aria-labelledby="screen-composer">
        <header className="screen-header">
          <h1 id="screen-composer">Composer</h1>
          <p className="screen-summary">
            This is the read-only mirror: runs are composed on the studio itself. Follow them under Live run.
          </p>
        </header>
      </section>
    );
  }
  return <ComposerEditor rerunOf={rerunOf} />;
}

/** The composer itself (the full-control studio): the form, the device and its preflight, Start run. */
function ComposerEditor({ rerunOf }: { rerunOf: string | null }) {
  const { api } = useStudio();
  const client = useQueryClient();
  const [form, setForm] = useState<ComposerForm>(DEFAULT_FORM);
  const [deviceId, setDeviceId] = useState<string>('');
  const devices = useQuery(devicesQuery(api));
  const rerun = useQuery({ ...runQuery(api, rerunOf ?? '-'), enabled: rerunOf !== null });
  // Pre-fill once per run asked for: a later refetch must not undo the user's edits.
  const [prefilled, setPrefilled] = useState<string | null>(null);
  useEffect(() => {
    if (rerun.data === undefined || rerunOf === null || prefilled === rerunOf) return;
    setPrefilled(rerunOf);
    setForm(formFromParams(rerun.data.params, rerun.data.preview));
  }, [rerun.data, rerunOf, prefilled]);
  const listed = devices.data?.devices ?? [];
  const distinctions = deviceDistinctions(listed);
  const paired = listed.filter((d) => d.status === 'paired');
  const chosen = paired.find((d) => d.id === deviceId) ?? paired.find((d) => !d.baseline) ?? paired[0];
  const result = useMemo(() => buildRunParams(form), [form]);
  // The prompt is checked even while another field is invalid (the memory preflight waits for a valid form).
  const promptParams = result.ok
    ? result.params
    : form.prompt.trim() !== ''
      ? { prompt: form.prompt.trim(), seed: 0 }
      : null;
  const start = useMutation({
    mutationFn: async () => {
      if (!result.ok) throw new Error(result.reason);
      if (chosen === undefined) throw new Error('No paired device: pair one on the Devices screen first');
      return api.startRun({ deviceId: chosen.id, params: result.params, preview: result.preview });
    },
    onSuccess: ({ run }) => {
      void client.invalidateQueries({ queryKey: studioKeys.runs });
      navigate(['live', run.runId]);
    },
  });
  const baselineChoice = useBaselineChoice(chosen?.id ?? null);
  // Run + baseline in one action: the run, then its baseline (queued behind it when the same device runs both),
  // then the comparison. Should the baseline not start, Compare opens on the run and says why.
  const startBoth = useMutation({
    mutationFn: async (): Promise<[string, string | null]> => {
      if (!result.ok) throw new Error(result.reason);
      if (chosen === undefined) throw new Error('No paired device: pair one on the Devices screen first');
      const { run } = await api.startRun({
        deviceId: chosen.id,
        params: result.params,
        preview: result.preview,
      });
      const baseline = await api.startBaseline({ runId: run.runId }).catch(() => null);
      return [run.runId, baseline?.run.runId ?? null];
    },
    onSuccess: ([runId, baselineId]) => {
      void client.invalidateQueries({ queryKey: studioKeys.runs });
      navigate(['compare', runId, ...(baselineId === null ? [] : [baselineId])]);
    },
  });
  const busy = start.isPending || startBoth.isPending;
  const set = (patch: Partial<ComposerForm>): void => setForm((f) => ({ ...f, ...patch }));

  return (
    <section className="screen composer" aria-labelledby="screen-composer">
      <header className="screen-header">
        <h1 id="screen-composer">Composer</h1>
        <p className="screen-summary">
          Write a prompt, choose the sampler and the On-device Sora techniques, then run.
        </p>
      </header>
      <div className="presets" role="group" aria-label="Presets">
        {PRESETS.map((p) => (
          <button
            key={p.id}
            type="button"
            data-testid={`preset-${p.id}`}
            title={p.explain}
            onClick={() => setForm(p.apply)}
          >
            {p.label}
          </button>
        ))}
      </div>
      <ul className="preset-help">
        {PRESETS.map((p) => (
          <li key={p.id}>
            <strong>{p.label}:</strong> {p.explain}
          </li>
        ))}
      </ul>
      <div className="knobs">
        <KnobField
          label="Prompt"
          help="What the video should show. The nano model knows simple shapes, colours and motions."
        >
          <textarea
            data-testid="prompt-input"
            value={form.prompt}
            rows={2}
            onChange={(e) => set({ prompt: e.target.value })}
          />
        </KnobField>
        {chosen !== undefined && promptParams !== null && (
          <PromptWords
            deviceId={chosen.id}
            params={promptParams}
            onReplace={(unknown, known) => set({ prompt: replaceFirstUnknown(form.prompt, unknown, known) })}
          />
        )}
        <NumberKnob
          form={form}
          set={set}
          field="seed"
          testId="seed-input"
          label="Seed"
          help="Picks the initial noise; the same seed gives the same noise on every device (the baseline uses it too)."
          min={0}
        />
        <NumberKnob
          form={form}
          set={set}
          field="steps"
          testId="steps-input"
          label="Steps"
          help="Rectified-flow sampling steps. More steps: slower, closer to the model's best."
          min={1}
        />
        <NumberKnob
          form={form}
          set={set}
          field="cfgScale"
          testId="cfg-input"
          label="CFG scale"
          help="Classifier-free guidance: how strongly the prompt steers each step (Open-Sora uses 7)."
          step="0.5"
        />
        <KnobField label="Frames" help="Pixel frames; blank = the model's default (Open-Sora Nano: 16).">
          <input
            data-testid="frames-input"
            type="number"
            min={1}
            value={shown(form.numFrames)}
            placeholder="model default"
            onChange={(e) => set({ numFrames: optionalNumber(e.target.value) })}
          />
        </KnobField>
        <KnobField
          label="Height × width (px)"
          help="Blank = the model's default (Open-Sora Nano: 32 × 32); must be a multiple of the VAE's factor."
        >
          <span className="pair-inputs">
            <input
              aria-label="Height"
              type="number"
              min={1}
              value={shown(form.heightPx)}
              placeholder="default"
              onChange={(e) => set({ heightPx: optionalNumber(e.target.value) })}
            />
            <input
              aria-label="Width"
              type="number"
              min={1}
              value={shown(form.widthPx)}
              placeholder="default"
              onChange={(e) => set({ widthPx: optionalNumber(e.target.value) })}
            />
          </span>
        </KnobField>
      </div>
      <TechniqueFields form={form} set={set} />
      <div className="knobs">
        <KnobField
          label="Device"
          help="A paired device runs the job; the baseline device runs the comparison later."
        >
          <select
            data-testid="device-select"
            value={chosen?.id ?? ''}
            onChange={(e) => setDeviceId(e.target.value)}
          >
            {paired.length === 0 && <option value="">No paired device</option>}
            {paired.map((d) => (
              <option key={d.id} value={d.id}>
                {deviceLabel(d, distinctions.get(d.id))} ({d.model}){d.baseline ? ' · baseline' : ''}
              </option>
            ))}
          </select>
        </KnobField>
      </div>
      {!result.ok && (
        <p className="error" role="alert" data-testid="composer-error" data-field={result.field}>
          {result.reason}
        </p>
      )}
      {chosen !== undefined && <Preflight deviceId={chosen.id} result={result} />}
      {chosen !== undefined && baselineChoice !== null && <BaselineChoiceNote choice={baselineChoice} />}
      <div className="start-buttons">
        <button
          type="button"
          className="primary"
          data-testid="start-run"
          disabled={!result.ok || chosen === undefined || busy}
          onClick={() => start.mutate()}
        >
          {start.isPending ? 'Starting…' : 'Start run'}
        </button>
        <button
          type="button"
          data-testid="start-run-baseline"
          title="Starts the run and its baseline (the same job with the techniques off), then compares them"
          disabled={!result.ok || chosen === undefined || baselineChoice?.ok !== true || busy}
          onClick={() => startBoth.mutate()}
        >
          {startBoth.isPending ? 'Starting…' : 'Start run + baseline'}
        </button>
      </div>
      {(start.isError || startBoth.isError) && (
        <p className="error" role="alert">
          {errorText(start.error ?? startBoth.error)}
        </p>
      )}
    </section>
  );
}
