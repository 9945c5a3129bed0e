/** The app: starts the companion once, then four tabs (status, run, models, settings) drawn from its snapshot. */
import { useEffect, useState, useSyncExternalStore } from 'react';
import { Pressable, Text, View } from 'react-native';
import { SafeAreaProvider, SafeAreaView } from 'react-native-safe-area-context';
import { createCompanion } from './app/create-companion';
import type { PhoneCompanion } from './host/phone-companion';
import { ModelsScreen } from './screens/models-screen';
import { RunScreen } from './screens/run-screen';
import { SettingsScreen } from './screens/settings-screen';
import { StatusScreen } from './screens/status-screen';
import { styles } from './screens/styles';

const TABS = ['Status', 'Run', 'Models', 'Settings'] as const;
type Tab = (typeof TABS)[number];

function Screens(props: { companion: PhoneCompanion }): React.JSX.Element {
  const { companion } = props;
  const snapshot = useSyncExternalStore(companion.store.subscribe, companion.store.get);
  const [tab, setTab] = useState<Tab>('Status');
  return (
    <View style={{ flex: 1 }}>
      <View style={[styles.row, { padding: 8 }]}>
        {TABS.map((t) => (
          <Pressable key={t} accessibilityRole="tab" onPress={() => setTab(t)} style={{ padding: 8 }}>
            <Text style={[styles.title, { color: t === tab ? '#007aff' : '#8e8e93' }]}>{t}</Text>
          </Pressable>
        ))}
      </View>
      {tab === 'Status' && <StatusScreen companion={companion} snapshot={snapshot} />}
      {tab === 'Run' && <RunScreen snapshot={snapshot} />}
      {tab === 'Models' && <ModelsScreen companion={companion} snapshot={snapshot} />}
      {tab === 'Settings' && <SettingsScreen companion={companion} snapshot={snapshot} />}
    </View>
  );
}

/** The root component. */
export default function App(): React.JSX.Element {
  const [companion, setCompanion] = useState<PhoneCompanion | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let started: PhoneCompanion | null = null;
    createCompanion((line) => console.log(`[odsora] ${line}`)).then(
      (c) => {
        started = c;
        setCompanion(c);
      },
      (e: unknown) => setError((e as Error).message),
    );
    return () => void started?.close();
  }, []);
  return (
    <SafeAreaProvider>
      <SafeAreaView style={{ flex: 1 }}>
        {companion !== null ? (
          <Screens companion={companion} />
        ) : (
          <View style={styles.screen}>
            <Text style={error !== null ? styles.error : styles.value}>
              {error !== null ? `The companion did not start: ${error}` : 'Starting the companion…'}
            </Text>
          </View>
        )}
      </SafeAreaView>
    </SafeAreaProvider>
  );
}
