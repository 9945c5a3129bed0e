/** Errors of the checkpoint readers (zip, pickle, torch files, sharded sets) and the torch zip writer. */

/** A checkpoint is malformed, truncated, unsafe or holds something the caller did not expect. */
export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
  /** The file (reader name, index file or directory) the problem is in. */
  readonly file: string;
  /** The tensor concerned, when there is one. */
  readonly tensor: string | undefined;

  constructor(file: string, message: string, tensor?: string) {
    super(tensor === undefined ? `${file}: ${message}` : `${file}: tensor "${tensor}" ${message}`);
    this.file = file;
    this.tensor = tensor;
  }
}
