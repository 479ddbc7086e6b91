// The embed pipeline: pending images from the catalogue → read, decode and
// preprocess (stage 2) → encode (stage 3) → commit vectors and failures in one
// transaction per batch (stage 4). The next batch is prepared while the current
// one is encoded, so the model does not wait for the decoder. A crash loses at
// most the batches in flight; everything committed stays.
import type { Catalog, EmbeddedImage, ImageRecord } from '../catalog/catalog.js';
import type { ImageEncoder } from '../model/encoders.js';
import { prepareBatch, type PreparedBatch } from './prepare.js';

export interface EmbedProgress {
  done: number;
  total: number;
  failed: number;
}

export interface EmbedOptions {
  batchSize?: number;
  maxPixels?: number;
  /** Per-file limit for reading and decoding. */
  fileTimeoutMs?: number;
  onProgress?: (progress: EmbedProgress) => void;
  /** Called for each file that could not be embedded. */
  onFailure?: (path: string, reason: string) => void;
}

export interface EmbedReport {
  /** Images given a vector, by the model or reused from identical content. */
  embedded: number;
  /** Of those, how many reused the vector of identical content already in the library. */
  reused: number;
  failed: number;
  seconds: number;
}

export async function embedPending(catalog: Catalog, encoder: ImageEncoder, options: EmbedOptions = {}): Promise<EmbedReport> {
  const batchSize = options.batchSize ?? 16;
  const started = performance.now();
  const total = catalog.counts().pending;
  const report: EmbedReport = { embedded: 0, reused: 0, failed: 0, seconds: 0 };
  const prepareOptions = {
    config: encoder.preprocess,
    maxPixels: options.maxPixels,
    timeoutMs: options.fileTimeoutMs,
    reusableVector: (hash: string) => catalog.vectorForContent(hash),
  };
  let cursor = 0;

  const nextBatch = (): { records: ImageRecord[]; prepared: Promise<PreparedBatch> } | null => {
    const records = catalog.pendingImages(cursor, batchSize);
    if (records.length === 0) return null;
    cursor = records[records.length - 1].id;
    return { records, prepared: prepareBatch(records, prepareOptions) };
  };

  let current = nextBatch();
  while (current) {
    const batch = await current.prepared;
    const upcoming = nextBatch(); // starts decoding while this batch is encoded
    const embedded: EmbeddedImage[] = [...batch.reused];
    if (batch.images.length > 0) {
      const vectors = await encoder.encode(batch.pixels, batch.images.length);
      batch.images.forEach((image, i) => {
        embedded.push({ ...image, vector: vectors.slice(i * encoder.dims, (i + 1) * encoder.dims) });
      });
    }
    catalog.commitBatch(embedded, batch.failed);
    if (options.onFailure) {
      const paths = new Map(current.records.map((r) => [r.id, r.path]));
      for (const f of batch.failed) options.onFailure(paths.get(f.id) ?? `image ${f.id}`, f.reason);
    }
    report.embedded += embedded.length;
    report.reused += batch.reused.length;
    report.failed += batch.failed.length;
    options.onProgress?.({ done: report.embedded + report.failed, total, failed: report.failed });
    current = upcoming;
  }
  report.seconds = (performance.now() - started) / 1000;
  return report;
}
