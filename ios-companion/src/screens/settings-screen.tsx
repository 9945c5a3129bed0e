/** Settings: device name, default CI-DL memory budget, Core ML on/off. */
import { useState } from 'react';
import { ScrollView, Switch, Text, TextInput, View } from 'react-native';
import type { RequestBudgetSpec } from '../../../shared/engine/cidl/budget';
import type { CompanionSnapshot, PhoneCompanion } from '../host/phone-companion';
import { Button } from './button';
import { styles } from './styles';

/** Budget choices offered on the phone (the studio can send any budget per run). */
const BUDGETS: { label: string; budget: RequestBudgetSpec | null }[] = [
  { label: 'Auto (what iOS allows)', budget: { kind: 'auto' } },
  { label: '50 % of the blocks', budget: { kind: 'fraction', of: 0.5 } },
  { label: '20 % of the blocks', budget: { kind: 'fraction', of: 0.2 } },
  { label: 'Unlimited', budget: { kind: 'unlimited' } },
];

/** The settings screen. */
export function SettingsScreen(props: {
  companion: PhoneCompanion;
  snapshot: CompanionSnapshot;
}): React.JSX.Element {
  const { companion, snapshot: s } = props;
  const [name, setName] = useState(s.settings.deviceName);
  const [error, setError] = useState<string | null>(null);
  const apply = (patch: Parameters<PhoneCompanion['updateSettings']>[0]): void => {
    setError(null);
    companion.updateSettings(patch).catch((e: unknown) => setError((e as Error).message));
  };
  const current = JSON.stringify(s.settings.defaultBudget);
  return (
    <ScrollView contentContainerStyle={styles.screen}>
      <View style={styles.card}>
        <Text style={styles.label}>Device name (what studios see)</Text>
        <TextInput style={styles.input} value={name} onChangeText={setName} maxLength={128} />
        <Button title="Save name" onPress={() => apply({ deviceName: name.trim() })} />
      </View>
      <View style={styles.card}>
        <Text style={styles.label}>Default memory budget (runs that name none)</Text>
        {BUDGETS.map((b) => (
          <View key={b.label} style={styles.row}>
            <Text style={styles.value}>{b.label}</Text>
            <Switch
              value={JSON.stringify(b.budget) === current}
              onValueChange={() => apply({ defaultBudget: b.budget })}
            />
          </View>
        ))}
      </View>
      <View style={styles.card}>
        <View style={styles.row}>
          <Text style={styles.value}>Core ML (Neural Engine / GPU, CPU fallback)</Text>
          <Switch value={s.settings.coreml} onValueChange={(v) => apply({ coreml: v })} />
        </View>
        <Text style={styles.label}>{s.backend}</Text>
      </View>
      {error !== null && <Text style={styles.error}>{error}</Text>}
    </ScrollView>
  );
}
