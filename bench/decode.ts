// bench:decode — does reading, hashing and decoding scale with threads? For each
// thread count N, a fresh process (UV_THREADPOOL_SIZE=N, set before its libuv pool
// starts; configureDecoding({ threads: N }): one libvips thread per image) runs the pipeline's
// per-file work (src/pipeline/prepare.ts: open, stat, read, SHA-256, decode +
// preprocess into a tensor, EXIF) over every photo, with N × K files in flight,
// and reports photos/s. The photos are read once before timing, so the page cache
// serves them: this measures the CPU side, not the disk.
//
// The per-file work runs either on the main thread's event loop (--workers 0, as
// prepare.ts does today) or in worker threads (--workers auto: decodeWorkers(), one
// per 2 decode threads and at least 2; --workers all: one per decode thread; or a count):
// with --worker-stage all a worker does everything for a path and sends back the
// tensor; with --worker-stage decode the main thread reads and hashes and a worker
// decodes the bytes (prepare.ts's DecodeStage in a worker). It reports how much
// work per photo stays on the main thread, since that part does not scale: N
// threads reach at most (work per photo) / (main-thread work per photo) times the
// one-thread rate (decode_main_thread_bound_speedup), whatever N is.
//
//   node dist/bench/decode.js [--images DIR] [--model DIR] [--decode-threads 1,2,4]
//     [--workers auto|all|N] [--in-flight-per-thread K] [--passes P] [--exact] [--out FILE.json]
//     [--impl pipeline|prototype] [--worker-stage all|decode] [--hash pool|inline]
//
// Defaults (the pipeline when the model is on a GPU and decoding sets the pace):
// --workers auto --in-flight-per-thread 2, measuring the pipeline's own code:
// stages 1–2 of src/pipeline/prepare.ts on the main thread (--workers 0) or in
// its decode workers (src/pipeline/decode-pool.ts), the tensor written where the
// batch would hold it. --impl prototype measures this file's first prototype
// instead (a worker pool of its own; --worker-stage and --hash apply to it only):
// --hash inline hashes with createHash on the thread that handles the file;
// --hash pool with crypto.subtle.digest, which runs on the libuv pool.
import { execFileSync } from 'node:child_process';
import { createHash, webcrypto } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { configureDecoding, decodeWorkers, FILES_IN_FLIGHT_PER_THREAD } from '../src/media/decode-threads.js';
import { readExif } from '../src/media/exif.js';
import { preprocessInto } from '../src/media/preprocess.js';
import { parsePreprocessorConfig, type PreprocessConfig } from '../src/media/preprocessor-config.js';
import { DecodePool } from '../src/pipeline/decode-pool.js';
import { stagesHere, type FileStages } from '../src/pipeline/prepare.js';
import { models, sharedDir } from '../scripts/paths.js';
import { numberArg, parseArgs } from './args.js';
import { peakRssBytes, report, round } from './stats.js';

type Hash = 'inline' | 'pool';
/** What is measured: the pipeline's stages and decode pool, or this file's first prototype. */
type Impl = 'pipeline' | 'prototype';

/** Files in flight per decode thread, as the pipeline should have them. */
const DEFAULT_IN_FLIGHT = FILES_IN_FLIGHT_PER_THREAD;

export interface DecodeBenchOptions {
  /** Folder of photos (not recursive); default ../shared/data/photos. */
  images?: string;
  /** Model folder whose preprocessor_config.json sets the tensor size; default the bench model. */
  model?: string;
  /** Thread counts to measure. */
  threads: number[];
  /** Timed passes over all photos per thread count; the best counts. */
  passes?: number;
  /** Where the SHA-256 runs: 'inline' (createHash on the thread that handles the file; default) or 'pool' (crypto.subtle, on the libuv pool). */
  hash?: Hash;
  /** Decode at full size (no JPEG shrink-on-load), as --exact does. */
  exact?: boolean;
  /** Files in flight per decode thread (the decode limiter is threads × this); default 2. */
  inFlightPerThread?: number;
  /** With workers: they do every stage for a path ('all', default), or decode bytes the main thread read and hashed ('decode'). */
  workerStage?: WorkerStage;
  /** The pipeline's code (default) or the prototype's. */
  impl?: Impl;
  /**
   * Worker threads that run the per-file work, off the main thread's event loop:
   * 0 for none (the main thread does it), a number, 'auto' (decodeWorkers() in
   * src/media/decode-threads.ts) or 'all' (one per decode thread). Default 'auto'.
   */
  workers?: number | 'auto' | 'all';
}

export interface DecodeBenchResult {
  decode_ips_by_threads: Record<string, number>;
  decode_speedup_by_threads: Record<string, number>;
  decode_cpu_ms_per_image_by_threads: Record<string, number>;
  decode_main_thread_ms_per_image_by_threads: Record<string, number>;
  decode_peak_rss_mb_by_threads: Record<string, number>;
  /** At one thread: (work per photo) / (main-thread work per photo), the most any thread count can gain. */
  decode_main_thread_bound_speedup: number;
  decode_images: number;
  decode_cores: number;
  decode_hash: Hash;
  decode_in_flight_per_thread: number;
  decode_workers_by_threads: Record<string, number>;
  decode_worker_stage: WorkerStage;
  decode_impl: Impl;
  decode_fast_shrink: boolean;
  mean_file_mb: number;
}

interface OneRun {
  ips: number;
  cpu_ms_per_image: number;
  main_thread_ms_per_image: number;
  peak_rss_bytes: number;
  pool_size: number;
  workers: number;
  images: number;
  mean_file_mb: number;
}

const self = fileURLToPath(import.meta.url);

/** --workers: a count, or 'auto' (decodeWorkers for this many decode threads). */
function workersArg(value: string | undefined, threads: number): number {
  if (value === 'auto' || value === undefined) return decodeWorkers(threads);
  if (value === 'all') return threads;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--workers must be auto, all or a count, not "${value}"`);
  return n;
}

function workerStageArg(value: string | undefined): WorkerStage {
  if (value === undefined || value === 'decode' || value === 'all') return value ?? 'all';
  throw new Error(`--worker-stage must be decode or all, not "${value}"`);
}

function implArg(value: string | undefined): Impl {
  if (value === undefined || value === 'pipeline' || value === 'prototype') return value ?? 'pipeline';
  throw new Error(`--impl must be pipeline or prototype, not "${value}"`);
}

/** Parses "1,2,4,8" (each a positive integer). */
export function parseThreadList(value: string): number[] {
  const list = value.split(',').map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`--decode-threads must be a comma-separated list of positive integers, not "${value}"`);
  }
  return list;
}

function photoFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.(jpe?g|png|webp|heic|tiff?)$/i.test(f))
    .sort()
    .map((f) => join(dir, f));
}

function preprocessConfig(modelDir: string): PreprocessConfig {
  const path = join(modelDir, 'preprocessor_config.json');
  return parsePreprocessorConfig(JSON.parse(readFileSync(path, 'utf8')), path);
}

/** Runs every thread count in its own process and gathers the results. */
export function runDecodeBench(options: DecodeBenchOptions): DecodeBenchResult {
  const images = options.images ?? join(sharedDir, 'data', 'photos');
  const model = options.model ?? models.benchClip;
  const hash = options.hash ?? 'inline';
  const runs = new Map<number, OneRun>();
  for (const threads of options.threads) {
    const args = [self, '--phase', 'one', '--threads', String(threads), '--images', images, '--model', model, '--hash', hash];
    args.push('--passes', String(options.passes ?? 3), '--in-flight-per-thread', String(options.inFlightPerThread ?? DEFAULT_IN_FLIGHT));
    if (options.exact) args.push('--exact');
    args.push(
      '--workers',
      String(options.workers ?? 'auto'),
      '--worker-stage',
      options.workerStage ?? 'all',
      '--impl',
      options.impl ?? 'pipeline',
    );
    const stdout = execFileSync(process.execPath, args, {
      // The pool size is read when the pool starts: only a new process can have another.
      env: { ...process.env, UV_THREADPOOL_SIZE: String(threads) },
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 24,
    });
    runs.set(threads, JSON.parse(stdout.toString()) as OneRun);
  }
  const byThreads = (value: (r: OneRun) => number, digits = 2): Record<string, number> =>
    Object.fromEntries([...runs].map(([n, r]) => [String(n), round(value(r), digits)]));
  const base = runs.get(Math.min(...runs.keys()))!;
  const one = runs.get(1);
  const any = [...runs.values()][0];
  return {
    decode_ips_by_threads: byThreads((r) => r.ips),
    decode_speedup_by_threads: byThreads((r) => r.ips / base.ips, 3),
    decode_cpu_ms_per_image_by_threads: byThreads((r) => r.cpu_ms_per_image),
    decode_main_thread_ms_per_image_by_threads: byThreads((r) => r.main_thread_ms_per_image),
    decode_peak_rss_mb_by_threads: byThreads((r) => r.peak_rss_bytes / 2 ** 20, 1),
    decode_main_thread_bound_speedup: one ? round(1000 / one.ips / one.main_thread_ms_per_image, 1) : NaN,
    decode_images: any.images,
    decode_cores: availableParallelism(),
    decode_hash: hash,
    decode_in_flight_per_thread: options.inFlightPerThread ?? DEFAULT_IN_FLIGHT,
    decode_workers_by_threads: byThreads((r) => r.workers, 0),
    decode_worker_stage: options.workerStage ?? 'all',
    decode_impl: options.impl ?? 'pipeline',
    decode_fast_shrink: !options.exact,
    mean_file_mb: round(any.mean_file_mb, 2),
  };
}

interface RunSettings {
  threads: number;
  images: string;
  model: string;
  passes: number;
  hash: Hash;
  exact: boolean;
  inFlightPerThread: number;
  workers: number;
  workerStage: WorkerStage;
  impl: Impl;
}

/** The pipeline's work for one file (prepare.ts's prepareOne, minus the catalogue), writing the tensor at out[0…]. */
/** Stage 1 of the pipeline's work for one file (prepare.ts's read stage): open, stat, read, SHA-256. */
function fileReader(hash: Hash): (path: string) => Promise<Buffer> {
  return async (path) => {
    const handle = await open(path, 'r');
    let bytes: Buffer;
    try {
      await handle.stat();
      bytes = await handle.readFile();
    } finally {
      await handle.close();
    }
    if (hash === 'pool') Buffer.from(await webcrypto.subtle.digest('SHA-256', bytes)).toString('hex');
    else createHash('sha256').update(bytes).digest('hex');
    return bytes;
  };
}

/** Stage 2 (prepare.ts's decode stage): decode + preprocess into out[0…], then EXIF. */
function fileDecoder(config: PreprocessConfig, exact: boolean): (bytes: Buffer, out: Float32Array) => Promise<void> {
  return async (bytes, out) => {
    await preprocessInto(bytes, config, out, 0, { fastShrink: !exact, timeoutSeconds: 60 });
    await readExif(bytes);
  };
}

/** Both stages, in the calling thread. */
function filePreparer(config: PreprocessConfig, hash: Hash, exact: boolean): (path: string, out: Float32Array) => Promise<void> {
  const read = fileReader(hash);
  const decode = fileDecoder(config, exact);
  return async (path, out) => decode(await read(path), out);
}

/** What the workers do: the decode stage on bytes read by the main thread, or every stage of a path. */
export type WorkerStage = 'decode' | 'all';

interface WorkerSetup {
  decodeWorker: true;
  model: string;
  hash: Hash;
  exact: boolean;
  stage: WorkerStage;
}

type WorkerRequest = { id: number; path: string } | { id: number; bytes: ArrayBuffer; byteOffset: number; byteLength: number };

/** Worker threads that run the decode stage (or every stage) and send back the tensor, transferred. */
function workerPool(
  count: number,
  setup: WorkerSetup,
): { prepare: (path: string, out: Float32Array) => Promise<void>; close: () => Promise<void> } {
  const pending = new Map<number, { out: Float32Array; resolve: () => void; reject: (err: Error) => void }>();
  const load = new Array<number>(count).fill(0);
  const read = fileReader(setup.hash);
  let nextId = 0;
  const workers = Array.from({ length: count }, () => {
    const worker = new Worker(self, { workerData: setup });
    worker.on('message', (reply: { id: number; tensor?: Float32Array; error?: string }) => {
      const request = pending.get(reply.id)!;
      pending.delete(reply.id);
      if (reply.tensor) {
        request.out.set(reply.tensor); // into the batch, as the pipeline would
        request.resolve();
      } else request.reject(new Error(reply.error));
    });
    return worker;
  });
  return {
    prepare: async (path, out) => {
      let request: WorkerRequest;
      let transfer: ArrayBuffer[] = [];
      if (setup.stage === 'all') request = { id: nextId++, path };
      else {
        const bytes = await read(path);
        // A buffer of its own moves to the worker without a copy; a view into a shared pool is copied.
        const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
        const data = own ? (bytes.buffer as ArrayBuffer) : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
        request = { id: nextId++, bytes: data as ArrayBuffer, byteOffset: 0, byteLength: bytes.byteLength };
        transfer = [data as ArrayBuffer];
      }
      const which = load.indexOf(Math.min(...load));
      load[which]++;
      try {
        await new Promise<void>((resolve, reject) => {
          pending.set(request.id, { out, resolve, reject });
          workers[which].postMessage(request, transfer);
        });
      } finally {
        load[which]--;
      }
    },
    close: async () => {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

function serveAsWorker(setup: WorkerSetup): void {
  const config = preprocessConfig(setup.model);
  const read = fileReader(setup.hash);
  const decode = fileDecoder(config, setup.exact);
  const perImage = 3 * config.cropHeight * config.cropWidth;
  parentPort!.on('message', (request: WorkerRequest) => {
    const tensor = new Float32Array(perImage);
    const bytes =
      'path' in request ? read(request.path) : Promise.resolve(Buffer.from(request.bytes, request.byteOffset, request.byteLength));
    bytes
      .then((b) => decode(b, tensor))
      .then(
        () => parentPort!.postMessage({ id: request.id, tensor }, [tensor.buffer]),
        (err: unknown) => parentPort!.postMessage({ id: request.id, error: (err as Error).message }),
      );
  });
}

/** The pipeline's stages 1–2 (prepare.ts), on this thread or in its decode workers, as embedPending sets them up. */
async function pipelineStages(
  workers: number,
  config: PreprocessConfig,
  exact: boolean,
): Promise<{ prepare: (path: string, out: Float32Array) => Promise<void>; close: () => Promise<void> }> {
  const timeoutMs = 60_000;
  const pool =
    workers > 0
      ? await DecodePool.start({
          workers,
          config,
          fastShrink: !exact,
          timeoutMs,
        })
      : null;
  const stages: FileStages = pool ?? stagesHere({ config, fastShrink: !exact }, timeoutMs);
  const signal = new AbortController().signal;
  return {
    prepare: async (path, out) => {
      const file = await stages.read(path, timeoutMs, signal);
      try {
        await file.decode(out, 0);
      } finally {
        file.release();
      }
    },
    close: async () => pool?.close(),
  };
}

/** One process, one thread count: the pipeline's per-file work over every photo, `threads` × in-flight files at a time. */
async function measureOne(settings: RunSettings): Promise<OneRun> {
  const { threads, hash, exact } = settings;
  const { poolSize } = configureDecoding({ threads });
  if (poolSize !== threads) throw new Error(`UV_THREADPOOL_SIZE is ${poolSize}, expected ${threads}`);
  const config = preprocessConfig(settings.model);
  const files = photoFiles(settings.images);
  if (files.length === 0) throw new Error(`no photos in ${settings.images}`);
  const megabytes = files.reduce((sum, f) => sum + readFileSync(f).length, 0) / 1e6; // also warms the page cache
  const perImage = 3 * config.cropHeight * config.cropWidth;
  const inFlight = threads * settings.inFlightPerThread;
  const slots = Array.from({ length: inFlight }, () => new Float32Array(perImage));
  const pool =
    settings.impl === 'pipeline'
      ? await pipelineStages(settings.workers, config, exact)
      : settings.workers > 0
        ? workerPool(settings.workers, { decodeWorker: true, model: settings.model, hash, exact, stage: settings.workerStage })
        : null;
  const prepare = pool?.prepare ?? filePreparer(config, hash, exact);

  const pass = async (): Promise<{ wallMs: number; cpuMs: number; mainMs: number }> => {
    const cpu = process.cpuUsage();
    const elu = performance.eventLoopUtilization();
    const start = performance.now();
    let next = 0;
    // `inFlight` runners, each taking the next file: the pipeline's Limiter, files started in order.
    await Promise.all(
      slots.map(async (slot) => {
        while (next < files.length) await prepare(files[next++], slot);
      }),
    );
    const wallMs = performance.now() - start;
    const used = process.cpuUsage(cpu);
    return { wallMs, cpuMs: (used.user + used.system) / 1000, mainMs: performance.eventLoopUtilization(elu).active };
  };

  try {
    await pass(); // warm-up: libvips caches, JIT
    let best = { wallMs: Infinity, cpuMs: 0, mainMs: 0 };
    for (let p = 0; p < settings.passes; p++) {
      const run = await pass();
      if (run.wallMs < best.wallMs) best = run;
    }
    return {
      ips: files.length / (best.wallMs / 1000),
      cpu_ms_per_image: best.cpuMs / files.length,
      main_thread_ms_per_image: best.mainMs / files.length,
      peak_rss_bytes: peakRssBytes(),
      pool_size: poolSize,
      workers: settings.workers,
      images: files.length,
      mean_file_mb: megabytes / files.length,
    };
  } finally {
    await pool?.close();
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const hash = (args.get('hash') ?? 'inline') as Hash;
  if (hash !== 'inline' && hash !== 'pool') throw new Error(`--hash must be inline or pool, not "${String(hash)}"`);
  const passes = numberArg(args, 'passes', 3);
  const inFlightPerThread = numberArg(args, 'in-flight-per-thread', DEFAULT_IN_FLIGHT);
  if (args.get('phase') === 'one') {
    const run = await measureOne({
      threads: numberArg(args, 'threads', 1),
      images: args.get('images')!,
      model: args.get('model')!,
      passes,
      hash,
      exact: args.has('exact'),
      inFlightPerThread,
      workers: workersArg(args.get('workers'), numberArg(args, 'threads', 1)),
      workerStage: workerStageArg(args.get('worker-stage')),
      impl: implArg(args.get('impl')),
    });
    process.stdout.write(`${JSON.stringify(run)}\n`);
    return;
  }
  const threads = parseThreadList(args.get('decode-threads') ?? `1,2,${availableParallelism()}`);
  report(
    runDecodeBench({
      images: args.get('images'),
      model: args.get('model'),
      threads: [...new Set(threads)],
      passes,
      hash,
      exact: args.has('exact'),
      inFlightPerThread,
      workerStage: workerStageArg(args.get('worker-stage')),
      impl: implArg(args.get('impl')),
      workers: ['auto', 'all'].includes(args.get('workers') ?? 'auto')
        ? ((args.get('workers') ?? 'auto') as 'auto' | 'all')
        : numberArg(args, 'workers', 0),
    }),
    args.get('out'),
  );
}

// Run as a program (or as one of its decode workers), not when bench/embed.ts imports runDecodeBench.
if (!isMainThread && (workerData as WorkerSetup | null)?.decodeWorker) serveAsWorker(workerData as WorkerSetup);
else if (process.argv[1] === self) await main();
