// A model session in a worker thread. onnxruntime-node runs inference
// synchronously on the calling thread, so in the main thread every batch would
// stop the event loop for the whole inference: file reads and sharp's decodes
// would finish but their callbacks (the next decode step, the tensor write) would
// wait, and decoding could not overlap inference at all. In a worker, the main
// thread keeps preparing the next batches while the model runs. bench:embed (q8,
// 2 cores): the main thread stalled 560–740 ms per batch and the pipeline ran at
// 33 photos/s with the session in the main thread, 58 photos/s with this worker.
import { Worker } from 'node:worker_threads';
import type { Provider } from './execution-provider.js';
import type { InputTensor, ModelSession, RunResult, SessionOptions } from './onnx-session.js';
import type { WorkerInit, WorkerOpen, WorkerReply, WorkerRequest } from './inference-worker.js';

const WORKER_SCRIPT = new URL('./inference-worker.js', import.meta.url);

/** A thread started by prestart() and not yet given a model. */
let spare: Worker | null = null;

interface Pending {
  resolve: (result: RunResult) => void;
  reject: (err: Error) => void;
}

export class InferenceThread implements ModelSession {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead: Error | null = null;

  private constructor(
    private readonly worker: Worker,
    readonly path: string,
    readonly provider: Provider,
    readonly inputNames: readonly string[],
    private readonly widths: Record<string, number | undefined>,
  ) {
    worker.on('message', (reply: WorkerReply) => this.settle(reply));
    worker.on('error', (err) => this.fail(new Error(`inference thread for ${path} failed: ${err.message}`)));
    worker.on('exit', (code) => this.fail(new Error(`inference thread for ${path} exited (code ${code})`)));
    worker.unref(); // referenced only while a request is pending (see run)
  }

  /** Opens a session on options.provider (the CPU by default) in a new worker thread, with no fallback. */
  static open(path: string, options: SessionOptions = {}): Promise<InferenceThread> {
    let worker: Worker;
    if (spare) {
      worker = spare;
      spare = null;
      worker.ref();
      worker.postMessage({ kind: 'open', path, options } satisfies WorkerOpen);
    } else worker = new Worker(WORKER_SCRIPT, { workerData: { path, options } satisfies WorkerInit });
    return new Promise((resolve, reject) => {
      const onExit = (code: number): void => reject(new Error(`cannot load ONNX model ${path}: inference thread exited (code ${code})`));
      worker.once('error', reject);
      worker.once('exit', onExit);
      worker.once('message', (reply: WorkerReply) => {
        worker.off('error', reject);
        worker.off('exit', onExit);
        if (reply.kind === 'ready') {
          resolve(new InferenceThread(worker, path, reply.provider, reply.inputNames, reply.outputWidths));
        } else {
          void worker.terminate();
          reject(new Error(reply.kind === 'failed' ? reply.message : `inference thread for ${path} sent ${reply.kind} before ready`));
        }
      });
    });
  }

  /**
   * Starts a thread for the next open() before its model is known, so that it
   * loads onnxruntime meanwhile: a command-line search knows its model only once
   * the catalogue is open, and loading onnxruntime's library is the first ~100 ms
   * of a thread's start. An unused one does not keep the process alive.
   */
  static prestart(): void {
    if (spare) return;
    const worker = new Worker(WORKER_SCRIPT, { workerData: null });
    worker.unref();
    worker.once('exit', () => {
      if (spare === worker) spare = null;
    });
    spare = worker;
  }

  get outputNames(): readonly string[] {
    return Object.keys(this.widths);
  }

  outputWidth(name: string): number | undefined {
    return this.widths[name];
  }

  /** Requests are queued and run in order; with `transfer` the inputs move to the worker without a copy. */
  run(feeds: Record<string, InputTensor>, outputName: string, options: { transfer?: boolean } = {}): Promise<RunResult> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    const transferList: ArrayBuffer[] = [];
    const sent: Record<string, InputTensor> = {};
    for (const [name, input] of Object.entries(feeds)) {
      if (options.transfer) {
        sent[name] = input;
        transferList.push(input.data.buffer as ArrayBuffer);
      } else {
        // A view is cloned with its whole buffer: slice first so only its own bytes are copied.
        sent[name] = { ...input, data: input.data.slice() } as InputTensor;
      }
    }
    return new Promise<RunResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ kind: 'run', id, feeds: sent, outputName } satisfies WorkerRequest, transferList);
    });
  }

  async close(): Promise<void> {
    if (this.dead) return;
    this.dead = new Error(`inference thread for ${this.path} is closed`);
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.ref();
    this.worker.postMessage({ kind: 'close' } satisfies WorkerRequest);
    await exited;
  }

  private settle(reply: WorkerReply): void {
    if (reply.kind !== 'result' && reply.kind !== 'error') return;
    const request = this.pending.get(reply.id);
    if (!request) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.kind === 'result') request.resolve({ data: reply.data, dims: reply.dims });
    else request.reject(new Error(reply.message));
  }

  private fail(err: Error): void {
    this.dead ??= err;
    for (const request of this.pending.values()) request.reject(err);
    this.pending.clear();
  }
}
