/**
 * Pure-TypeScript SentencePiece (unigram) encoder, id-exact with the C++ library (v0.1.97): the model reader and
 * writer, the normalizer with its precompiled charsmap, the Viterbi segmentation and the processor tying them.
 */
export { SentencePieceError } from './error';
export type { ModelPiece, ModelProto, NormalizerSpec, PieceTypeId, TrainerSpec } from './model-proto';
export {
  decodeModelProto,
  defaultNormalizerSpec,
  defaultTrainerSpec,
  encodeModelProto,
  ModelType,
  PieceType,
} from './model-proto';
export { compileCharsMap, encodeCharsMap, PrecompiledCharsMap } from './charsmap';
export { buildDoubleArray, DoubleArray } from './darts';
export { Normalizer } from './normalizer';
export type { NormalizerOptions } from './normalizer';
export { UnigramModel } from './unigram';
export type { Segment } from './unigram';
export { SentencePieceProcessor } from './processor';
export type { EncodedPiece } from './processor';
export { syntheticT5SentencePiece } from './synthetic';
export type { SyntheticSentencePieceOptions } from './synthetic';
