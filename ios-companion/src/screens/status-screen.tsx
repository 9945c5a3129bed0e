/** Status: advertising, name and port, the pairing code, paired studios (forget one), memory and thermal state. */
import { useEffect, useState } from 'react';
import { ScrollView, Text, View } from 'react-native';
import type { CompanionSnapshot, PhoneCompanion } from '../host/phone-companion';
import { Button } from './button';
import { formatBytes } from '../../../shared/format';
import { secondsLeft } from './format';
import { styles } from './styles';

/** The status screen. */
export function StatusScreen(props: {
  companion: PhoneCompanion;
  snapshot: CompanionSnapshot;
}): React.JSX.Element {
  const { companion, snapshot: s } = props;
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => {
      setNow(Date.now());
      companion.refreshStatus();
    }, 1000);
    return () => clearInterval(t);
  }, [companion]);
  const code =
    s.pairingCode !== null && secondsLeft(s.pairingCode.expiresAtMs, now) > 0 ? s.pairingCode : null;
  return (
    <ScrollView contentContainerStyle={styles.screen}>
      <View style={styles.card}>
        <Text style={styles.title}>{s.name}</Text>
        <Text style={styles.label}>
          {s.advertising ? 'Advertising _odsora._tcp' : 'Not advertising'} · port {s.port} · {s.id}
        </Text>
        {s.advertiseError !== null && <Text style={styles.error}>{s.advertiseError}</Text>}
      </View>
      <View style={styles.card}>
        <Text style={styles.label}>Pairing code</Text>
        {code !== null ? (
          <>
            <Text style={styles.code} accessibilityLabel={`pairing code ${code.code.split('').join(' ')}`}>
              {code.code}
            </Text>
            <Text style={styles.label}>expires in {secondsLeft(code.expiresAtMs, now)} s</Text>
          </>
        ) : (
          <Text style={styles.value}>No code shown. Pair from the studio, or show one:</Text>
        )}
        <Button title="Show a new code" onPress={() => companion.newPairingCode()} />
      </View>
      <View style={styles.card}>
        <Text style={styles.title}>Paired studios</Text>
        {s.paired.length === 0 && <Text style={styles.value}>None yet.</Text>}
        {s.paired.map((p) => (
          <View key={p.keyId} style={styles.row}>
            <View>
              <Text style={styles.value}>{p.clientName}</Text>
              <Text style={styles.label}>paired {new Date(p.pairedAtEpochMs).toLocaleString()}</Text>
            </View>
            <Button title="Forget" danger onPress={() => void companion.forget(p.keyId)} />
          </View>
        ))}
      </View>
      <View style={styles.card}>
        <Text style={styles.title}>Device</Text>
        <Text style={styles.value}>Available to the app: {formatBytes(s.memory.availableBytes)}</Text>
        <Text style={styles.value}>Footprint: {formatBytes(s.memory.footprintBytes)}</Text>
        <Text style={styles.value}>Thermal state: {s.memory.thermalState ?? 'unknown'}</Text>
        <Text style={styles.label}>{s.backend}</Text>
      </View>
    </ScrollView>
  );
}
