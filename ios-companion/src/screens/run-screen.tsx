/**
 * The current run, mirrored from the engine's events: stage, step, thermal state, preview, block residency, where
 * the blocks ran, and memory.
 */
import { useMemo } from 'react';
import { Image, ScrollView, Text, View } from 'react-native';
import { fromByteArray } from 'base64-js';
import { encodePngRgb } from '../host/png';
import type { CompanionSnapshot } from '../host/phone-companion';
import { placementLine, thermalLine } from '../host/run-view';
import { formatBytes } from '../../../shared/format';
import { styles } from './styles';

/** The run screen. */
export function RunScreen(props: { snapshot: CompanionSnapshot }): React.JSX.Element {
  const run = props.snapshot.run;
  const preview = run?.preview ?? null;
  const uri = useMemo(
    () =>
      preview === null
        ? null
        : `data:image/png;base64,${fromByteArray(encodePngRgb(preview.rgb, preview.width, preview.height))}`,
    [preview],
  );
  if (run === null)
    return (
      <View style={styles.screen}>
        <Text style={styles.value}>No run yet. Start one from the studio.</Text>
      </View>
    );
  const budget = run.budgetBytes === null ? 'no budget' : `budget ${formatBytes(run.budgetBytes)}`;
  return (
    <ScrollView contentContainerStyle={styles.screen}>
      <View style={styles.card}>
        <Text style={styles.title}>{run.runId}</Text>
        <Text style={styles.value}>
          {run.status}
          {run.stage !== null ? ` · ${run.stage}` : ''}
        </Text>
        {run.message !== null && <Text style={styles.error}>{run.message}</Text>}
        <Text style={styles.value}>
          Step {run.stepsDone}
          {run.stepsRequested !== null ? ` of ${run.stepsRequested}` : ''}
          {run.lastStepMs !== null ? ` · last ${run.lastStepMs.toFixed(0)} ms` : ''}
        </Text>
        <Text style={styles.value}>{thermalLine(run, props.snapshot.memory.thermalState)}</Text>
      </View>
      <View style={styles.card}>
        <Text style={styles.label}>Preview{preview !== null ? ` (step ${preview.step + 1})` : ''}</Text>
        {uri !== null ? (
          <Image source={{ uri }} style={{ width: 256, height: 256 }} resizeMode="contain" />
        ) : (
          <Text style={styles.value}>No preview requested or none yet.</Text>
        )}
      </View>
      <View style={styles.card}>
        <Text style={styles.title}>Residency (CI-DL)</Text>
        <Text style={styles.value}>
          Resident blocks {formatBytes(run.residentBytes)} · peak {formatBytes(run.peakResidentBytes)} ·{' '}
          {budget}
        </Text>
        <Text style={styles.value}>{placementLine(run)}</Text>
        <Text style={styles.value}>
          Available to the app: {formatBytes(props.snapshot.memory.availableBytes)}
        </Text>
        <Text style={styles.value}>Footprint: {formatBytes(props.snapshot.memory.footprintBytes)}</Text>
        <Text style={styles.label}>{props.snapshot.backend}</Text>
      </View>
    </ScrollView>
  );
}
