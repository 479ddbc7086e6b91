// The size of libuv's thread pool, which runs file operations and sharp's
// decodes for the whole process. Its own module, without sharp, so that the
// file-opening code (safe-open.ts) can read it without loading the decoder.

/** libuv's own pool size when UV_THREADPOOL_SIZE is not set. */
export const LIBUV_DEFAULT_THREADS = 4;
/** libuv's upper limit for UV_THREADPOOL_SIZE (1.45 and later; Node 20 has 1.46+). */
const LIBUV_MAX_THREADS = 1024;

/** The size of libuv's pool in this process: UV_THREADPOOL_SIZE as it was at start-up, else 4. */
export function threadPoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number.parseInt(env.UV_THREADPOOL_SIZE ?? '', 10);
  return Number.isInteger(n) && n > 0 ? Math.min(n, LIBUV_MAX_THREADS) : LIBUV_DEFAULT_THREADS;
}
