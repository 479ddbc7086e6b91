// Stages 1 and 2 of embedding (read + hash, decode + preprocess, EXIF) in worker
// threads, each with its own event loop (decode-worker.ts). On the main thread a
// photo costs 4–6 ms of JavaScript (hashing, sharp's and fs's callbacks, the
// tensor write) besides the ~15 ms its decode spends on libuv's pool, so one
// event loop keeps about four pool threads busy, whatever the core count
// (bench/decode.ts, src/media/decode-threads.ts). Here the main thread only
// passes messages and asks the catalogue, between reading and decoding, whether
// the content already has a vector (a copy is then not decoded).
//
// A file's tensor comes back transferred, not copied, and is copied once into its
// batch. Memory stays bounded: a worker holds the bytes of the files the
// pipeline's limiter lets through, and each worker thread costs ~40 MB (the
// first ~110 MB, with sharp's and V8's set-up).
//
// A worker that crashes (an uncaught exception, an exit) fails the files it was
// handling with a reason and is replaced. One that stops answering (a file's time
// ran out, and the thread does not answer a ping either: JavaScript that never
// returns) is stopped, its files fail with a reason, and it is replaced. Either
// way the run goes on. A crash in native code (a segfault in a decoder) takes
// the process down, threads or not: only separate processes would contain it.
//
// sharp is loaded in the main thread before any worker starts (prepare.ts
// imports it): on glibc a native module first loaded by a worker is unloaded
// when that worker exits, which crashes the others (sharp issue #2263).
import { Worker } from 'node:worker_threads';
import type { PreprocessConfig } from '../media/preprocessor-config.js';
import { lockForThread, releaseThreadSlot } from '../media/vips-errors.js';
import { DEFAULT_FILE_TIMEOUT_MS } from '../media/safe-open.js';
import { threadPoolSize } from '../media/thread-pool.js';
import type { DecodeWorkerSetup, FromWorker, ToWorker } from './decode-worker.js';
import type { FileStages, ReadHandle } from './prepare.js';

export interface DecodePoolOptions {
  /** Worker threads. */
  workers: number;
  config: PreprocessConfig;
  maxPixels?: number;
  fastShrink?: boolean;
  /** The per-file limit, also given to sharp in the workers; default DEFAULT_FILE_TIMEOUT_MS. */
  timeoutMs?: number;
  /** File operations each worker may run at once; default: together at most libuv's pool less one (safe-open.ts). */
  fileOperations?: number;
  /** A module (URL) whose `read` and/or `decode` exports replace the real stages in the workers (tests). */
  stages?: string;
  /** How long a worker may take to answer a ping, once one of its files ran out of time, before it is taken for stuck. */
  pingLimitMs?: number;
}

/** Workers that die before they are ready, in a row, before the pool gives up starting more. */
const MAX_FAILED_STARTS = 3;

/** The reasons given to the files a lost worker was handling (one line each, like every failure). */
const crashed = (why: string): string =>
  `its decoder thread crashed (${why}) while handling this file or another; embed --retry-failed tries it again`;
const STUCK =
  "its decoder thread stopped answering (another file's decode, or this one's, never returned) and was restarted; embed --retry-failed tries it again";

interface Request {
  resolve: (reply: FromWorker) => void;
  reject: (err: Error) => void;
}

class DecodeThread {
  readonly requests = new Map<number, Request>();
  /** Files read by this thread and not yet released. */
  files = 0;
  ready = false;
  /** Why it takes no more work (crashed, stuck, closed); null while it is usable. */
  gone: string | null = null;
  /** The uncaught exception that ended it, if one did. */
  crash: string | null = null;
  ping: NodeJS.Timeout | null = null;

  constructor(readonly worker: Worker) {}

  /** Sends a request just added to `requests`; the worker keeps the process alive while it has any. */
  send(message: ToWorker): void {
    if (this.requests.size === 1) this.worker.ref();
    this.worker.postMessage(message);
  }

  /** Tells it to forget a file's bytes. */
  drop(id: number): void {
    if (!this.gone) this.worker.postMessage({ kind: 'drop', id } satisfies ToWorker);
  }

  /** Settles every request with `err`. */
  failAll(err: Error): void {
    for (const request of this.requests.values()) request.reject(err);
    this.requests.clear();
    this.worker.unref();
  }
}

export class DecodePool implements FileStages {
  private readonly threads: DecodeThread[] = [];
  private nextId = 1;
  private closed = false;
  private failedStarts = 0;
  /** Set when workers cannot start: every read then fails with it. */
  private broken: string | null = null;
  private readonly setup: Omit<DecodeWorkerSetup, 'vipsLock'>;
  private readonly pingLimitMs: number;

  private constructor(options: DecodePoolOptions) {
    const timeoutMs = options.timeoutMs ?? DEFAULT_FILE_TIMEOUT_MS;
    this.setup = {
      config: options.config,
      maxPixels: options.maxPixels,
      fastShrink: options.fastShrink,
      timeoutMs,
      // libuv's pool is the process's: the workers share all its threads but one for file operations (safe-open.ts).
      fileOperations: options.fileOperations ?? Math.max(1, Math.floor((threadPoolSize() - 1) / options.workers)),
      stages: options.stages,
    };
    this.pingLimitMs = options.pingLimitMs ?? Math.min(10_000, Math.max(1_000, timeoutMs));
  }

  /** Starts `options.workers` threads and waits until each is ready; throws (with the reason) if one cannot start. */
  static async start(options: DecodePoolOptions): Promise<DecodePool> {
    if (!Number.isInteger(options.workers) || options.workers < 1)
      throw new RangeError(`decode workers must be at least 1, not ${options.workers}`);
    const pool = new DecodePool(options);
    const started = Array.from({ length: options.workers }, (_, i) => pool.spawn(i));
    try {
      await Promise.all(started);
    } catch (err) {
      await pool.close();
      throw new Error(`cannot start the decoder's worker threads: ${(err as Error).message}`, { cause: err });
    }
    return pool;
  }

  get size(): number {
    return this.threads.length;
  }

  /** Stage 1 in the least busy worker; the bytes stay there until decode() or release(). */
  async read(path: string, timeoutMs: number, signal: AbortSignal): Promise<ReadHandle> {
    const thread = this.pick();
    const id = this.nextId++;
    thread.files++;
    let done = false;
    const release = (): void => {
      if (done) return;
      done = true;
      thread.files--;
    };
    let facts: Extract<FromWorker, { kind: 'read' }>;
    try {
      facts = (await this.ask(thread, id, { kind: 'read', id, path, timeoutMs }, signal)) as typeof facts;
    } catch (err) {
      release();
      throw err;
    }
    return {
      size: facts.size,
      mtimeMs: facts.mtimeMs,
      contentHash: facts.contentHash,
      decode: async (out, offset) => {
        const reply = (await this.ask(thread, id, { kind: 'decode', id }, signal)) as Extract<FromWorker, { kind: 'decoded' }>;
        release(); // the worker let go of the bytes
        out.set(reply.tensor, offset);
        return { width: reply.width, height: reply.height, exif: reply.exif };
      },
      release: () => {
        if (done) return;
        thread.drop(id);
        release();
      },
    };
  }

  /** Stops every worker; files in flight fail. */
  async close(): Promise<void> {
    this.closed = true;
    const exits = this.threads.map((thread) => {
      thread.gone ??= 'the decoder is closed';
      thread.failAll(new Error(thread.gone));
      return thread.worker.terminate();
    });
    await Promise.all(exits);
  }

  private pick(): DecodeThread {
    if (this.broken) throw new Error(this.broken);
    if (this.closed) throw new Error('the decoder is closed');
    // A worker that let a file run out of time is being pinged: others first, until it answers.
    const busy = (thread: DecodeThread): number => thread.files + (thread.ping ? 1e6 : 0);
    let best = this.threads[0];
    for (const thread of this.threads) if (busy(thread) < busy(best)) best = thread;
    return best;
  }

  /** Sends a request and waits for its reply; `signal` (the file's time ran out) stops waiting and checks the worker is alive. */
  private ask(thread: DecodeThread, id: number, message: ToWorker, signal: AbortSignal): Promise<FromWorker> {
    return new Promise<FromWorker>((resolve, reject) => {
      if (thread.gone) return reject(new Error(thread.gone));
      if (signal.aborted) return reject(new Error('abandoned'));
      const onAbort = (): void => {
        if (thread.requests.delete(id) && thread.requests.size === 0) thread.worker.unref();
        reject(new Error('abandoned'));
        this.checkAlive(thread);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      thread.requests.set(id, {
        resolve: (reply) => {
          signal.removeEventListener('abort', onAbort);
          resolve(reply);
        },
        reject: (err) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      });
      thread.send(message);
    });
  }

  private spawn(index: number): Promise<void> {
    const lock = lockForThread();
    const worker = new Worker(new URL('./decode-worker.js', import.meta.url), {
      workerData: { ...this.setup, vipsLock: lock } satisfies DecodeWorkerSetup,
    });
    // Referenced until it is ready or gone (an unreferenced worker that dies while
    // starting could let the event loop end before its exit is heard: start() would
    // never settle), then only while it has requests (DecodeThread.send).
    const thread = new DecodeThread(worker);
    this.threads[index] = thread;
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (reply: FromWorker) => {
        if (reply.kind === 'ready') {
          thread.ready = true;
          if (thread.requests.size === 0) worker.unref();
          this.failedStarts = 0;
          resolve();
        } else if (reply.kind === 'pong') {
          if (thread.ping) clearTimeout(thread.ping);
          thread.ping = null;
        } else this.settle(thread, reply);
      });
      worker.on('error', (err) => {
        thread.crash = err.message.split('\n')[0];
      });
      worker.on('exit', (code) => {
        releaseThreadSlot(lock);
        if (thread.ping) clearTimeout(thread.ping);
        const why = thread.crash ?? `exit code ${code}`;
        reject(new Error(why));
        if (thread.gone) return; // stopped on purpose (stuck, closed): already handled
        thread.gone = crashed(why);
        thread.failAll(new Error(thread.gone));
        if (!thread.ready && ++this.failedStarts >= MAX_FAILED_STARTS) {
          this.broken = `the decoder's worker threads cannot start (${why})`;
          return;
        }
        this.replace(thread);
      });
    });
  }

  /** A reply to a request: the file's facts, its tensor, or its failure. */
  private settle(thread: DecodeThread, reply: FromWorker): void {
    if (!('id' in reply)) return;
    const request = thread.requests.get(reply.id);
    if (!request) {
      // Its file was given up (timed out): the worker may still hold its bytes.
      if (reply.kind === 'read') thread.drop(reply.id);
      return;
    }
    thread.requests.delete(reply.id);
    if (thread.requests.size === 0) thread.worker.unref();
    if (reply.kind === 'error') request.reject(new Error(reply.message));
    else request.resolve(reply);
  }

  /** After a file ran out of time there: a worker that does not answer a ping in time is stuck, and is replaced. */
  private checkAlive(thread: DecodeThread): void {
    if (thread.gone || thread.ping || this.closed) return;
    thread.ping = setTimeout(() => {
      thread.ping = null;
      if (thread.gone) return;
      thread.gone = STUCK;
      thread.failAll(new Error(STUCK));
      void thread.worker.terminate();
      this.replace(thread);
    }, this.pingLimitMs);
    thread.worker.postMessage({ kind: 'ping' } satisfies ToWorker);
  }

  private replace(thread: DecodeThread): void {
    if (this.closed) return;
    const index = this.threads.indexOf(thread);
    if (index < 0) return;
    // Requests sent to it before it is ready wait in its message queue; if it
    // cannot start, its exit fails them.
    this.spawn(index).catch(() => {});
  }
}
