// How many images are read, hashed and decoded at once, and on which threads.
//
// A photo's ~20 ms of work (4.1 MP mean JPEG, 2 cores here; bench/decode.ts) is
// of two kinds:
//   - on libuv's thread pool: file reads and sharp/libvips decoding + resizing,
//     ~15 ms. One libvips thread per image (sharp.concurrency(1)) and images side
//     by side, one per pool thread: JPEG entropy decoding is serial, so one image
//     cannot use much more than one core anyway, and N images on N threads use N
//     cores without oversubscribing them. (sharp's own default is one libvips
//     thread per core per image, except on glibc without jemalloc, where it
//     already picks 1.)
//   - JavaScript on the event loop that drives the file, 4–6 ms: SHA-256 with
//     createHash (~1.2 ms), the tensor write (~0.4 ms), EXIF, sharp's and fs's
//     callbacks. This part does not spread over the pool: one event loop feeds
//     about four pool threads, which caps decoding at 3.4–5× the one-thread rate
//     whatever the core count (bench/decode.ts, decode_main_thread_bound_speedup).
//     Hashing with crypto.subtle.digest moves the SHA-256 to the pool; decoding in
//     worker threads (decodeWorkers of them, each with its own event loop) leaves
//     the main thread ~0.5 ms per photo, a bound of 30–60×. The embed pipeline
//     follows configureDecoding's plan (src/pipeline/embed.ts, decodePlan), with
//     its worker threads in src/pipeline/decode-pool.ts.
//
// libuv's pool holds 4 threads unless UV_THREADPOOL_SIZE says otherwise, and it
// reads that variable once, when the pool first starts (the first asynchronous
// file read): the launcher must set it before that. In Node 20 an ES module entry
// point is itself read asynchronously, so only a CommonJS launcher (or the
// environment) can still set it: measured, setting it in an ES module entry left
// the pool at 4 threads, in a CommonJS one it took effect.
import { availableParallelism } from 'node:os';
import sharp from 'sharp';
import { LIBUV_DEFAULT_THREADS, threadPoolSize } from './thread-pool.js';

/**
 * Files in flight per decode thread when decoding must be fast (the model is on
 * a GPU). With one, a pool thread idles while an event loop runs the JavaScript
 * between a file's steps (open, read, metadata, resize, tensor); a second file
 * keeps it busy. Decoding alone, best of 7 runs over the 86 photos, 2 cores, 2
 * threads: 68–76 photos/s with one file per thread, 84–88 with two.
 */
export const FILES_IN_FLIGHT_PER_THREAD = 2;

/**
 * Decode threads per worker thread. An event loop spends 4–6 ms of JavaScript
 * per photo while a pool thread spends ~15 decoding it, so one loop saturates at
 * about three threads; two leaves it room. Measured, decoding alone over the 86
 * photos, 2 cores (bench/decode.ts, 5 passes, 2 runs each): at 2 decode threads,
 * one worker 75.9–77.2 photos/s, two workers 86.0–88.5; at 4 threads, two
 * workers 87.6–93.0, four 84.4–91.0 (and ~55 MB more memory per worker).
 */
export const DECODE_THREADS_PER_WORKER = 2;

/**
 * Up to this many decode threads beside a model on the CPU, the main thread
 * drives them itself, as the pipeline always did (see DecodeOptions.sharesCpuWithModel).
 */
export const MAIN_THREAD_DECODE_THREADS = 4;

/**
 * Decode threads (libuv pool threads) for this machine: one per core the process
 * may use, and never fewer than libuv's default 4, which is what the pipeline had
 * before. On 2 cores 4 threads decode faster than 2 (decoding alone, best of 7:
 * 88–98 photos/s against 68–76 with one file per thread), as the extra threads
 * cover the pool's waits on the event loop.
 */
export function defaultDecodeThreads(cores: number = availableParallelism()): number {
  return Math.max(LIBUV_DEFAULT_THREADS, cores);
}

/** Worker threads (each with its own event loop) that drive `threads` decode threads. */
export function decodeWorkers(threads: number = defaultDecodeThreads()): number {
  // Never a single worker for two threads: two decode faster (measured above).
  return Math.max(Math.min(threads, 2), Math.ceil(threads / DECODE_THREADS_PER_WORKER));
}

export interface DecodeOptions {
  /** Decode threads wanted; default defaultDecodeThreads(). Capped at libuv's pool. */
  threads?: number;
  /**
   * The model runs on the CPU too, so decoding takes cores from it: decode with
   * the least CPU per photo (one file per thread, no worker threads up to
   * MAIN_THREAD_DECODE_THREADS threads, which is the pipeline as it was), rather
   * than as fast as possible. bench:embed q8 on 2 cores, two runs each: 4 files
   * in flight 30.3 and 28.2 photos/s (37.1 and 40.1 ms of CPU per photo), 8 files
   * 27.4 and 26.3 (41.9 and 41.4 ms).
   */
  sharesCpuWithModel?: boolean;
}

export interface DecodePlan {
  /** libuv pool threads that decode (the smaller of the request and the pool). */
  threads: number;
  /** libuv's pool in this process. */
  poolSize: number;
  /** Files read, hashed and decoded at once: the pipeline's decode limiter. */
  inFlight: number;
  /** Worker threads that handle files (read, hash, decode, EXIF), each with its own event loop; 0: the main thread does. */
  workers: number;
  /** libvips threads per image. */
  perImage: number;
}

/**
 * Sets up this process to decode with `threads` pool threads (one libvips thread
 * per image) and says how the pipeline should drive them: how many files at once
 * and in how many worker threads. Never more threads than libuv's pool has (more
 * would only queue in libuv, where the pipeline's limiter can no longer keep the
 * next batch's images first). Call once, before the first decode.
 */
export function configureDecoding(options: DecodeOptions = {}): DecodePlan {
  const threads = options.threads ?? defaultDecodeThreads();
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`decode threads must be a positive integer, not ${threads}`);
  sharp.concurrency(1);
  const poolSize = threadPoolSize();
  const usable = Math.min(threads, poolSize);
  const frugal = options.sharesCpuWithModel ?? false;
  return {
    threads: usable,
    poolSize,
    inFlight: usable * (frugal ? 1 : FILES_IN_FLIGHT_PER_THREAD),
    workers: frugal && usable <= MAIN_THREAD_DECODE_THREADS ? 0 : decodeWorkers(usable),
    perImage: sharp.concurrency(),
  };
}
