/** Errors of the safetensors reader and writer. */

/** A safetensors file is malformed, truncated or holds something the caller did not expect. */
export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';
  /** The file (reader name) the problem is in. */
  readonly file: string;
  /** The tensor concerned, when there is one. */
  readonly tensor: string | undefined;

  constructor(file: string, message: string, tensor?: string) {
    super(tensor === undefined ? `${file}: ${message}` : `${file}: tensor "${tensor}" ${message}`);
    this.file = file;
    this.tensor = tensor;
  }
}
