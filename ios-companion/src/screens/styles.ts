/** Shared styles of the screens. */
import { StyleSheet } from 'react-native';

/** The few styles every screen uses. */
export const styles = StyleSheet.create({
  screen: { padding: 16, gap: 12 },
  card: { backgroundColor: '#f2f2f7', borderRadius: 12, padding: 12, gap: 6 },
  title: { fontSize: 17, fontWeight: '600' },
  label: { fontSize: 13, color: '#6e6e73' },
  value: { fontSize: 15 },
  mono: { fontFamily: 'Menlo', fontSize: 12 },
  code: { fontSize: 40, fontWeight: '700', letterSpacing: 8, fontFamily: 'Menlo' },
  row: { flexDirection: 'row', alignItems: 'center', justifyContent: 'space-between', gap: 8 },
  button: { backgroundColor: '#007aff', borderRadius: 8, paddingVertical: 8, paddingHorizontal: 12 },
  buttonDanger: { backgroundColor: '#ff3b30', borderRadius: 8, paddingVertical: 6, paddingHorizontal: 10 },
  buttonText: { color: 'white', fontWeight: '600' },
  error: { color: '#ff3b30' },
  input: { borderWidth: 1, borderColor: '#c7c7cc', borderRadius: 8, padding: 8, fontSize: 15 },
});
