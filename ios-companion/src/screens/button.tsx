/** A plain button. */
import { Pressable, Text } from 'react-native';
import { styles } from './styles';

/** A button; `danger` makes it red. */
export function Button(props: { title: string; onPress: () => void; danger?: boolean }): React.JSX.Element {
  return (
    <Pressable
      accessibilityRole="button"
      onPress={props.onPress}
      style={props.danger ? styles.buttonDanger : styles.button}
    >
      <Text style={styles.buttonText}>{props.title}</Text>
    </Pressable>
  );
}
