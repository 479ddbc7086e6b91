// How many images are read, hashed and decoded at once, and on which threads.
//
// Each image is decoded on one libvips thread (sharp.concurrency(1)) and images
// run side by side, one per libuv worker thread: JPEG entropy decoding is serial,
// so one image cannot use more than about one core anyway, and N images on N
// threads scale with the cores without oversubscribing them. (sharp's default
// per-image pool is one thread per core, except on glibc without jemalloc, where
// sharp already picks 1: N images × cores libvips threads would fight over the
// cores.) libuv's pool holds 4 threads unless UV_THREADPOOL_SIZE says otherwise,
// and it reads that variable once, when the pool first starts: the launcher must
// set it before anything reads a file asynchronously. In Node 20 an ES module
// entry point is itself loaded with asynchronous reads, so only a CommonJS
// launcher (or the environment) can still set it (see threadPoolEnvironment).
//
// bench/decode.ts measures it: read + hash + decode + preprocess of the 86 camera
// photos scale 1.9× from 1 thread to 2 on this 2-core machine.
import { availableParallelism } from 'node:os';
import sharp from 'sharp';

/** libuv's own pool size when UV_THREADPOOL_SIZE is not set. */
export const LIBUV_DEFAULT_THREADS = 4;
/** libuv's upper limit for UV_THREADPOOL_SIZE (1.45 and later; Node 20 has 1.46+). */
const LIBUV_MAX_THREADS = 1024;

/**
 * Decode threads for this machine: one per core the process may use, and never
 * fewer than libuv's default 4, which is what the pipeline used before and
 * measured no slower on 2 cores (see bench/decode.ts's results in the issue).
 */
export function defaultDecodeThreads(cores: number = availableParallelism()): number {
  return Math.max(LIBUV_DEFAULT_THREADS, cores);
}

/** The size of libuv's pool in this process: UV_THREADPOOL_SIZE as it was at start-up, else 4. */
export function threadPoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number.parseInt(env.UV_THREADPOOL_SIZE ?? '', 10);
  return Number.isInteger(n) && n > 0 ? Math.min(n, LIBUV_MAX_THREADS) : LIBUV_DEFAULT_THREADS;
}

/**
 * The environment entry a launcher sets before the pool starts (bin/picsift.cjs),
 * or for a child process: UV_THREADPOOL_SIZE = the decode threads, unless the user
 * set it. Returns the variable's value.
 */
export function threadPoolEnvironment(threads: number = defaultDecodeThreads(), env: NodeJS.ProcessEnv = process.env): string {
  env.UV_THREADPOOL_SIZE ??= String(threads);
  return env.UV_THREADPOOL_SIZE;
}

export interface DecodeThreads {
  /** Images read, hashed and decoded at once (the pipeline's decode limiter). */
  concurrency: number;
  /** libuv's pool in this process. */
  poolSize: number;
  /** libvips threads per image. */
  perImage: number;
}

/**
 * Sets up this process to decode `threads` images at once: one libvips thread
 * per image, and a concurrency no larger than libuv's pool (more would only
 * queue in libuv, where the pipeline's limiter can no longer keep the next
 * batch's images first). Call once, before the first decode.
 */
export function configureDecoding(threads: number = defaultDecodeThreads()): DecodeThreads {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`decode threads must be a positive integer, not ${threads}`);
  sharp.concurrency(1);
  const poolSize = threadPoolSize();
  return { concurrency: Math.min(threads, poolSize), poolSize, perImage: sharp.concurrency() };
}
