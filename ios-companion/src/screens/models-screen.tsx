/** Installed models (block sets): size, manifest hash, which one runs, delete. Pushes from the studio land here. */
import { ScrollView, Text, View } from 'react-native';
import type { CompanionSnapshot, PhoneCompanion } from '../host/phone-companion';
import { Button } from './button';
import { formatBytes } from '../../../shared/format';
import { styles } from './styles';

/** The models screen. */
export function ModelsScreen(props: {
  companion: PhoneCompanion;
  snapshot: CompanionSnapshot;
}): React.JSX.Element {
  const { companion, snapshot: s } = props;
  return (
    <ScrollView contentContainerStyle={styles.screen}>
      {s.modelError !== null && <Text style={styles.error}>{s.modelError}</Text>}
      {s.models.length === 0 && (
        <Text style={styles.value}>
          No model installed. Push one from the studio (Devices → push model), or copy a converted block set
          with its odsora-sync.json into Files → Odsora → blocksets.
        </Text>
      )}
      {s.models.map((m) => (
        <View key={m.name} style={styles.card}>
          <View style={styles.row}>
            <Text style={styles.title}>
              {m.name}
              {m.active ? ' (runs)' : ''}
            </Text>
            <Button title="Delete" danger onPress={() => void companion.deleteModel(m.name)} />
          </View>
          <Text style={styles.value}>
            {m.model} · {formatBytes(m.bytes)}
          </Text>
          <Text style={styles.mono} selectable>
            sha256 {m.manifestSha256}
          </Text>
          {!m.active && (
            <Button
              title="Run this model"
              onPress={() => void companion.updateSettings({ activeModel: m.name })}
            />
          )}
        </View>
      ))}
    </ScrollView>
  );
}
