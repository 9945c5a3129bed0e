/** Errors of the SentencePiece model reader and encoder. */

/** A SentencePiece model is malformed, truncated, or of a kind this encoder does not support. */
export class SentencePieceError extends Error {
  override readonly name = 'SentencePieceError';
  /** The model file (or other source) the problem is in. */
  readonly file: string;

  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.file = file;
  }
}
