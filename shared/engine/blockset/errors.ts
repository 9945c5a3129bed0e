/** Errors of block-set conversion, manifests and loading. */

/** A block set (or the checkpoint it is made from) is missing, invalid, corrupt or does not match its config. */
export class BlockSetError extends Error {
  override readonly name = 'BlockSetError';
  /** The file the problem is in. */
  readonly file: string;
  /** The block concerned, when there is one (e.g. `pair.3`). */
  readonly block: string | undefined;

  constructor(file: string, message: string, block?: string) {
    super(`${file}: ${message}`);
    this.file = file;
    this.block = block;
  }
}
