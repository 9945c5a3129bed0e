/**
 * The app's settings on react-native-fs (`<data>/settings.json` under Library/odsora, replaced through a temporary
 * file and validated with zod on every read and write). The run and pairing stores and the device id are the shared
 * ones (shared/companion/host-kit/file-stores.ts) on this app's file system (rnfs-file-system.ts).
 */
import { z } from 'zod';
import { readJsonFile, replaceText } from '../../../shared/companion/host-kit/file-stores';
import { budgetSchema } from '../../../shared/protocol/run';
import { RnfsFileSystem } from './rnfs-file-system';
import { joinPath, type RnfsLike } from './rnfs-like';

/** What the settings screen edits. */
const phoneSettingsSchema = z.strictObject({
  /** The name studios see (Bonjour and device info). */
  deviceName: z.string().min(1).max(128),
  /** CI-DL budget for runs that name none (null: the engine's default, everything resident). */
  defaultBudget: budgetSchema.nullable(),
  /** Run on Core ML (the Neural Engine / GPU) with CPU fallback; off: CPU only. */
  coreml: z.boolean(),
  /** The installed block set runs use (null: the first installed). */
  activeModel: z.string().min(1).max(128).nullable(),
});

/** The app's settings. */
export type PhoneSettings = z.infer<typeof phoneSettingsSchema>;

/** Settings in `<data>/settings.json`. */
export class RnfsSettingsStore {
  private readonly path: string;
  private readonly fs: RnfsFileSystem;
  constructor(rnfs: RnfsLike, dataDir: string) {
    this.fs = new RnfsFileSystem(rnfs);
    this.path = joinPath(dataDir, 'settings.json');
  }

  /** The stored settings, or `defaults` where none are stored (a file that does not validate is reported). */
  async load(defaults: PhoneSettings): Promise<PhoneSettings> {
    return (await readJsonFile(this.fs, this.path, phoneSettingsSchema, 'bad settings')) ?? defaults;
  }

  async save(settings: PhoneSettings): Promise<void> {
    const checked = phoneSettingsSchema.parse(settings);
    await replaceText(this.fs, this.path, JSON.stringify(checked));
  }
}
