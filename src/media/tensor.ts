// Centre crop + rescale + normalise, written straight into the caller's batch
// tensor in CHW order (transformers: center_crop → rescale → normalize).
import { cropOrigin } from './geometry.js';
import type { ResizedImage } from './decode.js';
import type { PreprocessConfig } from './preprocessor-config.js';

const LEVELS = 256;

/** Writes 3 × cropHeight × cropWidth floats at out[offset…]. */
export function writeCroppedTensor(image: ResizedImage, cfg: PreprocessConfig, out: Float32Array, offset: number): void {
  const { cropHeight, cropWidth } = cfg;
  const { top, left } = cropOrigin(image, { height: cropHeight, width: cropWidth });
  const values = levelValues(cfg);
  // The crop columns that fall inside the image; the rest is padding.
  const firstX = Math.max(0, -left);
  const endX = Math.min(cropWidth, image.width - left);
  for (let c = 0; c < 3; c++) {
    const channelValues = values.subarray(c * LEVELS, (c + 1) * LEVELS);
    // center_crop pads with zero pixels, which then go through rescale and normalize.
    const padding = channelValues[0];
    for (let y = 0; y < cropHeight; y++) {
      const row = offset + (c * cropHeight + y) * cropWidth;
      const sourceY = y + top;
      if (sourceY < 0 || sourceY >= image.height) {
        out.fill(padding, row, row + cropWidth);
        continue;
      }
      out.fill(padding, row, row + firstX);
      let source = (sourceY * image.width + left + firstX) * 3 + c;
      for (let x = firstX; x < endX; x++, source += 3) out[row + x] = channelValues[image.pixels[source]];
      out.fill(padding, row + endX, row + cropWidth);
    }
  }
}

/**
 * The tensor value of every 8-bit level, per channel, with transformers' own
 * arithmetic: rescale() multiplies in float64 and stores float32; normalize()
 * then subtracts and divides in float32. A table makes the result bit-identical
 * for identical pixels and costs 768 entries.
 */
function levelValues(cfg: PreprocessConfig): Float32Array {
  const values = new Float32Array(3 * LEVELS);
  for (let c = 0; c < 3; c++) {
    for (let level = 0; level < LEVELS; level++) {
      let value = cfg.rescaleFactor === null ? level : Math.fround(level * cfg.rescaleFactor);
      if (cfg.normalize) {
        const mean = Math.fround(cfg.normalize.mean[c]);
        const std = Math.fround(cfg.normalize.std[c]);
        value = Math.fround(Math.fround(value - mean) / std);
      }
      values[c * LEVELS + level] = value;
    }
  }
  return values;
}
