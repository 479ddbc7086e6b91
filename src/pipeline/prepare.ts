// Stage 2: read + decode + preprocess a batch of images into one tensor. Files are
// read once: the same bytes feed the content hash and the decoder. A file that
// cannot be read or decoded becomes a failure with a reason, never an exception.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { FailedImage, ImageRecord } from '../catalog/catalog.js';
import { preprocessInto } from '../imaging/preprocess.js';
import type { PreprocessConfig } from '../imaging/preprocessor-config.js';

export interface PreparedImage {
  id: number;
  width: number;
  height: number;
  contentHash: string;
}

export interface PreparedBatch {
  /** `images.length` preprocessed tensors laid out back to back. */
  pixels: Float32Array;
  images: PreparedImage[];
  failed: FailedImage[];
}

export interface PrepareOptions {
  config: PreprocessConfig;
  /** Decompression-bomb guard: images with more pixels are refused. */
  maxPixels?: number;
}

export async function prepareBatch(records: readonly ImageRecord[], options: PrepareOptions): Promise<PreparedBatch> {
  const { config } = options;
  const perImage = 3 * config.cropHeight * config.cropWidth;
  const pixels = new Float32Array(records.length * perImage);
  const results = await Promise.all(
    records.map(async (record, slot): Promise<PreparedImage | FailedImage> => {
      try {
        const bytes = await readFile(record.path);
        const contentHash = createHash('sha256').update(bytes).digest('hex');
        const { width, height } = await preprocessInto(bytes, config, pixels, slot * perImage, { maxPixels: options.maxPixels });
        return { id: record.id, width, height, contentHash };
      } catch (err) {
        return { id: record.id, reason: oneLine(err) };
      }
    }),
  );
  // Close the gaps left by failures so the encoder sees only real images.
  const images: PreparedImage[] = [];
  const failed: FailedImage[] = [];
  results.forEach((r, slot) => {
    if ('reason' in r) {
      failed.push(r);
      return;
    }
    if (images.length !== slot) pixels.copyWithin(images.length * perImage, slot * perImage, (slot + 1) * perImage);
    images.push(r);
  });
  return { pixels: pixels.subarray(0, images.length * perImage), images, failed };
}

function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0].trim() || 'unknown error';
}
