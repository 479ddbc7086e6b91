// The embed pipeline: claim pending images from the catalogue's queue → read,
// decode and preprocess (stages 1–2, prepare.ts) → encode (stage 3,
// encode-stage.ts) → commit vectors and failures in one transaction per batch
// (stage 4). Batches flow through a bounded queue: while the model encodes one
// batch (in its inference thread), the next ones are decoded and the previous
// one is committed, so the model does not wait for the decoder or the database.
// A crash loses at most the batches in flight; everything committed stays.
// Memory is bounded by the queue, whatever the library size: images are claimed
// a batch at a time. Every stage is passed in, so each can be tested alone.
// Reading and decoding follow the decode plan (decodePlan below): how many files
// at once, and whether in worker threads (decode-pool.ts), by where the model runs.
import type { EmbedQueue } from '../catalog/ports.js';
import type { ImageRecord } from '../catalog/types.js';
import { configureDecoding, type DecodePlan } from '../media/decode-threads.js';
import type { PreprocessConfig } from '../media/preprocessor-config.js';
import { defaultBatchSize, type Provider } from '../model/execution-provider.js';
import { Limiter } from '../util/limiter.js';
import { DecodePool } from './decode-pool.js';
import { encodeBatch, type BatchEncoder, type EncodedBatch } from './encode-stage.js';
import { prepareBatch, type DecodeStage, type PrepareOptions, type ReadFacts, type ReadStage } from './prepare.js';

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
  /**
   * Decode threads: libuv pool threads decoding at once (src/media/decode-threads.ts);
   * default one per core, at least 4, capped at the pool's size.
   */
  decodeThreads?: number;
  /** Files read and decoded at once; default the decode plan's (configureDecoding: one per decode thread beside a model on the CPU, two beside a GPU). */
  decodeConcurrency?: number;
  /**
   * Worker threads that read and decode (decode-pool.ts); 0: this thread does.
   * Default the decode plan's: none while the model shares the CPU on up to 4
   * decode threads, else decodeWorkers() (one per 2 decode threads, at least 2).
   */
  decodeWorkers?: number;
  /** A module (URL) whose `read` and/or `decode` exports replace stages 1 and 2 inside the decode workers (tests). */
  workerStages?: string;
  /** JPEG shrink-on-load; default DEFAULT_FAST_SHRINK (prepare.ts). */
  fastShrink?: boolean;
  /** Catalogue path → the path this machine reads (--path-map). */
  localPath?: (path: string) => string;
  /** Stand-ins for stages 1 and 2 (tests). */
  read?: ReadStage;
  decode?: DecodeStage;
  onProgress?: (progress: EmbedProgress) => void;
  /** Called for each file that could not be embedded. */
  onFailure?: (path: string, reason: string) => void;
  /** Stops claiming new batches when it returns true; the batches in flight are finished and committed. */
  shouldStop?: () => boolean;
  /**
   * When nothing is left to claim but other workers still hold claims, look again
   * after this long (they may have died: their claims then expire and are taken
   * over here). Default DEFAULT_CLAIM_RETRY_MS.
   */
  claimRetryMs?: number;
  /** Told once each time the worker starts waiting for other workers' claims. */
  onWait?: () => void;
  /** Whether a file just read may be embedded now; false leaves its image pending (see onDeferred). */
  ready?: (file: ReadFacts) => boolean;
  /** Called for each image left pending because `ready` said no. */
  onDeferred?: (path: string) => void;
}

/** How often a worker with nothing to claim looks again while other workers hold claims. */
export const DEFAULT_CLAIM_RETRY_MS = 2000;

export interface EmbedReport {
  /** Images given a vector, by the model or reused from identical content. */
  embedded: number;
  /** Of those, how many reused the vector of identical content already in the library. */
  reused: number;
  failed: number;
  /** Images this worker no longer held at commit (another worker took them over after its claim expired). */
  lost: number;
  /** Images left pending because their file was not ready (EmbedOptions.ready). */
  deferred: number;
  seconds: number;
  /** How files were read and decoded: libuv threads, files at once, worker threads. */
  decoding: { threads: number; inFlight: number; workers: number };
}

/** Batches prepared ahead of those the model is encoding. */
const PREFETCH_BATCHES = 2;

/** The image encoder as the pipeline uses it: encoding plus the preprocessing its model expects. */
export interface PipelineEncoder extends BatchEncoder {
  readonly preprocess: PreprocessConfig;
  /** Where the model runs; the CPU when not said (decoding then shares the cores with it). */
  readonly provider?: Provider;
}

/**
 * How this run decodes: configureDecoding's plan for the encoder's provider (a
 * model on the CPU shares the cores with decoding, so decoding stays frugal
 * there), with the caller's overrides.
 */
export function decodePlan(encoder: Pick<PipelineEncoder, 'provider'>, options: EmbedOptions = {}): DecodePlan {
  const plan = configureDecoding({ threads: options.decodeThreads, sharesCpuWithModel: (encoder.provider ?? 'cpu') === 'cpu' });
  const standIns = options.read !== undefined || options.decode !== undefined;
  return {
    ...plan,
    inFlight: options.decodeConcurrency ?? plan.inFlight,
    // Stand-in stages are functions of this thread: they cannot run in workers.
    workers: options.decodeWorkers ?? (standIns ? 0 : plan.workers),
  };
}

interface InFlight {
  records: ImageRecord[];
  result: Promise<EncodedBatch>;
}

export async function embedPending(queue: EmbedQueue, encoder: PipelineEncoder, options: EmbedOptions = {}): Promise<EmbedReport> {
  const batchSize = options.batchSize ?? defaultBatchSize(encoder.provider ?? 'cpu');
  const started = performance.now();
  const total = await queue.pendingCount();
  const plan = decodePlan(encoder, options);
  const report: EmbedReport = {
    embedded: 0,
    reused: 0,
    failed: 0,
    lost: 0,
    deferred: 0,
    seconds: 0,
    decoding: { threads: plan.threads, inFlight: plan.inFlight, workers: plan.workers },
  };
  if (plan.workers > 0 && (options.read || options.decode)) {
    throw new Error('stand-in read and decode stages run on this thread: not with decode workers (use workerStages)');
  }
  const workers =
    plan.workers > 0
      ? await DecodePool.start({
          workers: plan.workers,
          config: encoder.preprocess,
          maxPixels: options.maxPixels,
          fastShrink: options.fastShrink,
          timeoutMs: options.fileTimeoutMs,
          stages: options.workerStages,
        })
      : undefined;
  const prepareOptions: PrepareOptions = {
    config: encoder.preprocess,
    maxPixels: options.maxPixels,
    timeoutMs: options.fileTimeoutMs,
    fastShrink: options.fastShrink,
    limiter: new Limiter(plan.inFlight),
    reusableVector: (hash: string) => queue.vectorForContent(hash),
    localPath: options.localPath,
    ready: options.ready,
    read: options.read,
    decode: options.decode,
    workers,
  };
  const capacity = encoder.parallelism + PREFETCH_BATCHES;
  const inFlight: InFlight[] = [];
  let drained = false;
  let waiting = false;
  /** Nothing to claim and nothing in flight: wait while other workers hold claims that may expire. */
  const othersMayFail = async (): Promise<boolean> => {
    if (options.shouldStop?.() || (await queue.claimedElsewhere()) === 0) return false;
    if (!waiting) options.onWait?.();
    waiting = true;
    await new Promise((resolve) => setTimeout(resolve, options.claimRetryMs ?? DEFAULT_CLAIM_RETRY_MS));
    drained = false;
    return true;
  };

  /** Claims and starts the next batch: decoding, then encoding as soon as it is decoded. */
  const startBatch = async (): Promise<boolean> => {
    if (drained || options.shouldStop?.()) return false;
    const records = await queue.claim(batchSize);
    if (records.length === 0) {
      drained = true;
      return false;
    }
    waiting = false;
    const result = prepareBatch(records, prepareOptions).then((batch) => encodeBatch(encoder, batch));
    result.catch(() => {}); // awaited in order below; this only keeps a later batch's failure from being "unhandled" meanwhile
    inFlight.push({ records, result });
    return true;
  };
  const fill = async (): Promise<void> => {
    while (inFlight.length < capacity && (await startBatch()));
  };

  try {
    for (;;) {
      await fill();
      if (inFlight.length === 0) {
        if (await othersMayFail()) continue;
        break;
      }
      const current = inFlight.shift()!;
      const { embedded, failed, reused, deferred } = await current.result;
      await fill(); // keep the decoder and the model busy while this batch is committed
      const outcome = await queue.commit(embedded, failed);
      if (options.onFailure) {
        const paths = new Map(current.records.map((r) => [r.id, r.path]));
        for (const f of failed) options.onFailure(paths.get(f.id) ?? `image ${f.id}`, f.reason);
      }
      report.embedded += outcome.embedded;
      report.reused += reused;
      report.failed += outcome.failed;
      report.lost += outcome.lost;
      report.deferred += deferred.length;
      if (options.onDeferred && deferred.length > 0) {
        const paths = new Map(current.records.map((r) => [r.id, r.path]));
        for (const id of deferred) options.onDeferred(paths.get(id) ?? `image ${id}`);
      }
      options.onProgress?.({ done: report.embedded + report.failed, total, failed: report.failed });
    }
  } catch (err) {
    // Let the batches in flight finish before the caller closes the catalogue and the model.
    await Promise.allSettled(inFlight.map((q) => q.result));
    throw err;
  } finally {
    await workers?.close();
  }
  report.seconds = (performance.now() - started) / 1000;
  return report;
}
