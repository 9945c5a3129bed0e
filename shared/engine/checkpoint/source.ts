/**
 * The one interface every checkpoint format is read through (safetensors files, PyTorch `.bin` zip archives), so
 * converters stream tensor by tensor without caring which format the user downloaded.
 */
import type { ReadOptions } from '../safetensors/reader';

/** One tensor's header: dtype in safetensors spelling (`F32`, `F16`, `BF16`, `I64`, …) and shape. */
export interface CheckpointTensorInfo {
  readonly dtype: string;
  readonly shape: readonly number[];
}

/** One open checkpoint file. `SafetensorsFile` implements it as is. */
export interface CheckpointFile {
  /** The path or name shown in error messages. */
  readonly file: string;
  /** Tensor names, in the file's order. */
  names(): string[];
  /** Whether the file holds `name`. */
  has(name: string): boolean;
  /** Dtype and shape of one tensor; throws naming the file and tensor when it is missing. */
  info(name: string): CheckpointTensorInfo;
  /** Decodes one F32/F16/BF16 tensor into `out` (length = its element count), reading only its bytes. */
  readFloat32Into(name: string, out: Float32Array, opts?: ReadOptions): Promise<void>;
  /** Closes the underlying reader. */
  close(): Promise<void>;
}
