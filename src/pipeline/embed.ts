// The embed pipeline: pending images from the catalogue → read, decode and
// preprocess (stage 2) → encode (stage 3) → commit vectors and failures in one
// transaction per batch (stage 4). Batches flow through a bounded queue: while
// the model encodes one batch (in its inference thread), the next ones are
// decoded and the previous one is committed, so the model does not wait for the
// decoder or the disk. A crash loses at most the batches in flight; everything
// committed stays. Memory is bounded by the queue, whatever the library size:
// pending images are paged from the catalogue a batch at a time.
import type { Catalog, EmbeddedImage, ImageRecord } from '../catalog/catalog.js';
import type { ImageEncoder } from '../model/encoders.js';
import { Limiter } from './limiter.js';
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
  /** Files read and decoded at once; default DEFAULT_DECODE_CONCURRENCY. */
  decodeConcurrency?: number;
  /** JPEG shrink-on-load; default DEFAULT_FAST_SHRINK (prepare.ts). */
  fastShrink?: boolean;
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

/** Images per model call (the CLI's --batch-size default should match). */
export const DEFAULT_BATCH_SIZE = 16;
/**
 * One decode per libuv thread (UV_THREADPOOL_SIZE, 4 by default) keeps the
 * decoder busy without letting files of later batches overtake the next one.
 */
export const DEFAULT_DECODE_CONCURRENCY = 4;
/** Batches prepared ahead of those the model is encoding. */
const PREFETCH_BATCHES = 2;

interface InFlight {
  records: ImageRecord[];
  /** Prepared, then encoded: vectors are null when no image of the batch needs the model. */
  result: Promise<{ batch: PreparedBatch; vectors: Float32Array | null }>;
}

export async function embedPending(catalog: Catalog, encoder: ImageEncoder, options: EmbedOptions = {}): Promise<EmbedReport> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const started = performance.now();
  const total = catalog.counts().pending;
  const report: EmbedReport = { embedded: 0, reused: 0, failed: 0, seconds: 0 };
  const prepareOptions = {
    config: encoder.preprocess,
    maxPixels: options.maxPixels,
    timeoutMs: options.fileTimeoutMs,
    fastShrink: options.fastShrink,
    limiter: new Limiter(options.decodeConcurrency ?? DEFAULT_DECODE_CONCURRENCY),
    reusableVector: (hash: string) => catalog.vectorForContent(hash),
  };
  const capacity = encoder.parallelism + PREFETCH_BATCHES;
  const queue: InFlight[] = [];
  let cursor = 0;

  /** Starts the next batch: decoding, then encoding as soon as it is decoded. False when none is left. */
  const startBatch = (): boolean => {
    const records = catalog.pendingImages(cursor, batchSize);
    if (records.length === 0) return false;
    cursor = records[records.length - 1].id;
    const result = prepareBatch(records, prepareOptions).then(async (batch) => {
      const count = batch.images.length;
      // transfer: the batch's tensor moves to the inference thread, no copy.
      const vectors = count > 0 ? await encoder.encode(batch.pixels, count, { transfer: true }) : null;
      return { batch, vectors };
    });
    result.catch(() => {}); // awaited in order below; this only keeps a later batch's failure from being "unhandled" meanwhile
    queue.push({ records, result });
    return true;
  };
  const fill = (): void => {
    while (queue.length < capacity && startBatch());
  };

  try {
    fill();
    while (queue.length > 0) {
      const current = queue.shift()!;
      const { batch, vectors } = await current.result;
      fill(); // keep the decoder and the model busy while this batch is committed
      const embedded: EmbeddedImage[] = [...batch.reused];
      batch.images.forEach((image, i) => {
        embedded.push({ ...image, vector: vectors!.slice(i * encoder.dims, (i + 1) * encoder.dims) });
      });
      catalog.commitBatch(embedded, batch.failed);
      if (options.onFailure) {
        const paths = new Map(current.records.map((r) => [r.id, r.path]));
        for (const f of batch.failed) options.onFailure(paths.get(f.id) ?? `image ${f.id}`, f.reason);
      }
      report.embedded += embedded.length;
      report.reused += batch.reused.length;
      report.failed += batch.failed.length;
      options.onProgress?.({ done: report.embedded + report.failed, total, failed: report.failed });
    }
  } catch (err) {
    // Let the batches in flight finish before the caller closes the catalogue and the model.
    await Promise.allSettled(queue.map((q) => q.result));
    throw err;
  }
  report.seconds = (performance.now() - started) / 1000;
  return report;
}
