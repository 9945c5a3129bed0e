/** The app's file system: react-native-fs, and where the app keeps its data and block sets. */
import RNFS from 'react-native-fs';
import type { RnfsLike } from '../storage/rnfs-like';

/** react-native-fs as the stores use it. */
export const rnfs: RnfsLike = RNFS;

/** Stores (run logs, pairing keys, settings): Library/odsora — not shown in the Files app. */
export const DATA_DIR = `${RNFS.LibraryDirectoryPath}/odsora`;

/** Block sets: Documents/blocksets — shown in the Files app (and Finder), so converted sets can be copied in. */
export const MODELS_DIR = `${RNFS.DocumentDirectoryPath}/blocksets`;
