// Stages 1 and 2 of embedding a batch: read each file (read-stage.ts), then
// decode and preprocess it into its slot of one tensor for the encoder. A file
// that cannot be read or decoded becomes a failure with a reason, never an
// exception, and content already embedded elsewhere in the library reuses that
// vector without decoding. Both stages are injectable, so each can be tested
// with a stand-in for the other. They run on this thread's event loop, or in
// worker threads (PrepareOptions.workers, decode-pool.ts): the same steps in the
// same order, with the catalogue still asked here, between reading and decoding.
import type { EmbeddedImage, ExifFacts, FailedImage, ImageRecord, ReusableVector } from '../catalog/types.js';
import { readExif } from '../media/exif.js';
import { preprocessInto } from '../media/preprocess.js';
import type { PreprocessConfig } from '../media/preprocessor-config.js';
import { DEFAULT_FILE_TIMEOUT_MS } from '../media/safe-open.js';
import type { Limiter } from '../util/limiter.js';
import { readImageFile, type ReadFile } from './read-stage.js';

export { DEFAULT_FILE_TIMEOUT_MS };

export interface PreparedImage {
  id: number;
  size: number;
  mtimeMs: number;
  width: number;
  height: number;
  contentHash: string;
  exif?: ExifFacts;
}

export interface PreparedBatch {
  /** `images.length` preprocessed tensors laid out back to back, for the encoder. */
  pixels: Float32Array;
  images: PreparedImage[];
  /** Images whose content already has a vector: no decoding, no model run. */
  reused: EmbeddedImage[];
  failed: FailedImage[];
  /** Images whose file was not ready (PrepareOptions.ready): neither embedded nor failed, left pending. */
  deferred: number[];
}

/** The facts of a file as read, for PrepareOptions.ready. */
export interface ReadFacts {
  path: string;
  size: number;
  mtimeMs: number;
}

/** Stage 1: a file's bytes (read-stage.ts). */
export type ReadStage = (path: string, timeoutMs: number) => Promise<ReadFile>;

/** What stage 2 says of an image: its oriented size and EXIF facts. */
export interface DecodedImage {
  width: number;
  height: number;
  exif: ExifFacts;
}

/** Stage 2: bytes → one tensor at out[offset…]; returns the oriented size and the EXIF facts. */
export type DecodeStage = (bytes: Buffer, out: Float32Array, offset: number) => Promise<DecodedImage>;

/** A file read by stage 1 whose bytes stay where they were read (this thread or a worker) until decoded or released. */
export interface ReadHandle extends Omit<ReadFile, 'bytes'> {
  /** Stage 2 on those bytes, into out[offset…]. */
  decode(out: Float32Array, offset: number): Promise<DecodedImage>;
  /** The bytes are no longer needed (decoded, reused or deferred). */
  release(): void;
}

/** Stages 1 and 2 elsewhere: a pool of worker threads (decode-pool.ts). `signal` aborts when the file's time is up. */
export interface FileStages {
  read(path: string, timeoutMs: number, signal: AbortSignal): Promise<ReadHandle>;
}

export interface PrepareOptions {
  config: PreprocessConfig;
  /** Decompression-bomb guard: images with more pixels are refused. */
  maxPixels?: number;
  /** Per-file time limit for reading and decoding, so one pathological file cannot stall a run. */
  timeoutMs?: number;
  /** A stored vector for identical content, if the library has one. */
  reusableVector?: (contentHash: string) => Promise<ReusableVector | null>;
  /** JPEG shrink-on-load (see PreprocessOptions.fastShrink); default DEFAULT_FAST_SHRINK. */
  fastShrink?: boolean;
  /** Shared bound on files being read and decoded at once, across batches; the timeout starts when a file's turn comes. */
  limiter?: Limiter;
  /** Catalogue path → the path this machine reads (--path-map). */
  localPath?: (path: string) => string;
  /**
   * Whether a file just read may be embedded now; false leaves its image pending
   * (e.g. a file still being written: a watcher waits until it is stable).
   */
  ready?: (file: ReadFacts) => boolean;
  /** Stand-ins for tests; default: readImageFile and the media module's decoder. */
  read?: ReadStage;
  decode?: DecodeStage;
  /** Run stages 1 and 2 there (worker threads) instead of on this thread; not with `read` or `decode`. */
  workers?: FileStages;
}

/**
 * Decode JPEGs with shrink-on-load by default. On two cores the model and the
 * decoder share the CPU, so every decoding millisecond costs throughput. Measured
 * on the 86 camera photos (4.1 MP mean, bench:embed): 12.7 ms of CPU per photo
 * instead of 19.8, and through the whole pipeline 31.1 instead of 28.8 photos/s
 * (fp32) and 58.6 instead of 47.6 (q8), for a worst embedding cosine to the
 * Pillow reference of 0.99980 instead of 0.99988 — far below what separates
 * search results.
 */
export const DEFAULT_FAST_SHRINK = true;

type Outcome = PreparedImage | FailedImage | EmbeddedImage | { id: number; deferred: true };

export async function prepareBatch(records: readonly ImageRecord[], options: PrepareOptions): Promise<PreparedBatch> {
  const { config } = options;
  const perImage = 3 * config.cropHeight * config.cropWidth;
  const pixels = new Float32Array(records.length * perImage);
  const timeoutMs = options.timeoutMs ?? DEFAULT_FILE_TIMEOUT_MS;
  if (options.workers && (options.read || options.decode)) throw new Error('stand-in stages run on this thread: not with workers');
  const stages = options.workers ?? stagesHere(options, timeoutMs);
  const one = (record: ImageRecord, slot: number): Promise<Outcome> => {
    const abandon = new AbortController();
    const work = prepareOne(record, slot * perImage, pixels, stages, options, timeoutMs, abandon.signal);
    // Workers keep the same time limit themselves (decode-worker.ts), so that a file's reason is the same
    // as here; this one is their backstop, a little later, for a worker that no longer answers.
    return withTimeout(work, timeoutMs, abandon, options.workers ? WORKER_BACKSTOP_MS : 0);
  };
  const outcomes = await Promise.all(
    records.map((record, slot) =>
      (options.limiter ? options.limiter.run(() => one(record, slot)) : one(record, slot)).catch((err: unknown): FailedImage => ({
        id: record.id,
        reason: oneLine(err),
      })),
    ),
  );
  // Close the gaps left by failures and reuses so the encoder sees only real images.
  const batch: PreparedBatch = { pixels, images: [], reused: [], failed: [], deferred: [] };
  outcomes.forEach((outcome, slot) => {
    if ('deferred' in outcome) batch.deferred.push(outcome.id);
    else if ('reason' in outcome) batch.failed.push(outcome);
    else if ('vector' in outcome) batch.reused.push(outcome);
    else {
      const to = batch.images.length;
      if (to !== slot) pixels.copyWithin(to * perImage, slot * perImage, (slot + 1) * perImage);
      batch.images.push(outcome);
    }
  });
  batch.pixels = pixels.subarray(0, batch.images.length * perImage);
  return batch;
}

async function prepareOne(
  record: ImageRecord,
  offset: number,
  pixels: Float32Array,
  stages: FileStages,
  options: PrepareOptions,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Outcome> {
  const path = options.localPath ? options.localPath(record.path) : record.path;
  const file = await stages.read(path, timeoutMs, signal);
  try {
    const { size, mtimeMs, contentHash } = file;
    if (options.ready && !options.ready({ path: record.path, size, mtimeMs })) return { id: record.id, deferred: true };
    const known = await options.reusableVector?.(contentHash);
    if (known) return { id: record.id, size, mtimeMs, contentHash, ...known };
    const { width, height, exif } = await file.decode(pixels, offset);
    return { id: record.id, size, mtimeMs, width, height, contentHash, exif };
  } finally {
    file.release();
  }
}

/** Stages 1 and 2 on this thread (options.read and options.decode, else the real ones): the bytes stay here between them. */
export function stagesHere(options: Omit<PrepareOptions, 'workers'>, timeoutMs = options.timeoutMs ?? DEFAULT_FILE_TIMEOUT_MS): FileStages {
  const read = options.read ?? readImageFile;
  const decode = options.decode ?? mediaDecoder(options, timeoutMs);
  return {
    read: async (path, timeoutMs) => {
      const { bytes, ...facts } = await read(path, timeoutMs);
      return { ...facts, decode: (out, offset) => decode(bytes, out, offset), release: () => {} };
    },
  };
}

/** The real stage 2: sharp's decoder and the model's preprocessing, then the EXIF facts of the same bytes. */
export function mediaDecoder(options: Pick<PrepareOptions, 'config' | 'maxPixels' | 'fastShrink'>, timeoutMs: number): DecodeStage {
  return async (bytes, out, offset) => {
    const size = await preprocessInto(bytes, options.config, out, offset, {
      maxPixels: options.maxPixels,
      fastShrink: options.fastShrink ?? DEFAULT_FAST_SHRINK,
      timeoutSeconds: timeoutMs / 1000,
    });
    return { ...size, exif: await readExif(bytes) };
  };
}

/** Why a file failed when reading, asking the catalogue and decoding it took longer than `ms` in all. */
export function timeoutReason(ms: number): string {
  return `gave up after ${ms / 1000} s (decoder did not finish)`;
}

/** How much later than a worker's own time limit the main thread gives up on a file (decode-worker.ts). */
const WORKER_BACKSTOP_MS = 1000;

/** `work`, or a failure after `ms` (+ `lateMs`); then `abandon` is aborted, so that stages elsewhere stop waiting for it. */
function withTimeout<T>(work: Promise<T>, ms: number, abandon: AbortController, lateMs = 0): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(timeoutReason(ms)));
      abandon.abort();
    }, ms + lateMs);
  });
  return Promise.race([work, limit]).finally(() => clearTimeout(timer));
}

function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0].trim() || 'unknown error';
}
