/**
 * PNG encoding for previews and frames the studio asks for as `png`: the shared pure-TypeScript encoder
 * (shared/media/png, deflate by fflate — plain JavaScript, runs on Hermes), the same bytes as every other host.
 */
import { encodeRgbPng } from '../../../shared/media/png';

/** Encodes interleaved 8-bit RGB as a PNG file. */
export function encodePngRgb(rgb: Uint8Array, width: number, height: number): Uint8Array {
  return encodeRgbPng(rgb, width, height);
}
