// One image file's bytes → one model input tensor, matching Hugging Face's
// CLIPImageProcessor (and so OpenAI CLIP's torchvision transform) or
// SiglipImageProcessor on a PIL image.
import { decodeResized } from './decode.js';
import { DEFAULT_MAX_PIXELS } from './limits.js';
import type { PreprocessConfig } from './preprocessor-config.js';
import { writeCroppedTensor } from './tensor.js';

export interface PreprocessOptions {
  /** Decompression-bomb guard: images (or resize results) with more pixels are refused. */
  maxPixels?: number;
  /**
   * Decode JPEGs at a reduced DCT scale that is still at least the target size
   * (sharp's fastShrinkOnLoad). Faster, a little further from the reference.
   */
  fastShrink?: boolean;
  /** Per-image limit on libvips' work. */
  timeoutSeconds?: number;
}

export { DEFAULT_MAX_PIXELS };

/**
 * Decodes `bytes`, applies the EXIF orientation and writes one 3 × cropHeight ×
 * cropWidth float32 tensor (CHW) at out[offset…]. Returns the oriented size of
 * the original image. Throws a one-line Error for undecodable, truncated,
 * unsupported or oversized images; the caller adds the file path.
 */
export async function preprocessInto(
  bytes: Buffer,
  cfg: PreprocessConfig,
  out: Float32Array,
  offset: number,
  opts: PreprocessOptions = {},
): Promise<{ width: number; height: number }> {
  const floats = 3 * cfg.cropHeight * cfg.cropWidth;
  if (!Number.isInteger(offset) || offset < 0 || offset + floats > out.length) {
    throw new RangeError(`tensor slot ${offset}…${offset + floats} is outside the output array of ${out.length} floats`);
  }
  const image = await decodeResized(bytes, cfg.resize, {
    maxPixels: opts.maxPixels ?? DEFAULT_MAX_PIXELS,
    fastShrink: opts.fastShrink ?? false,
    filter: cfg.resample,
    timeoutSeconds: opts.timeoutSeconds,
  });
  writeCroppedTensor(image, cfg, out, offset);
  return image.original;
}
