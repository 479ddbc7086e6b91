// The one module that creates onnxruntime-node sessions. Which execution provider
// runs them, and each provider's tuning, is execution-provider.ts's; a session is
// opened on one given provider (openOnDevice there chooses it and falls back).
import * as ort from 'onnxruntime-node';
import { sessionOptionsFor, type Provider } from './execution-provider.js';

// Every failure of session creation or inference reaches us as an exception, with
// its message; onnxruntime's own log would print it again, in colour, over several
// lines (and warnings such as nodes left to the CPU by a GPU provider). Read once,
// when the first session of this thread is created.
ort.env.logLevel = 'fatal';

export interface SessionOptions {
  /** The execution provider; default 'cpu'. */
  provider?: Provider;
  /** Intra-op threads; 0 lets onnxruntime use one per physical core. Default: the provider's (execution-provider.ts). */
  threads?: number;
  /** Let idle intra-op threads busy-wait (see execution-provider.ts). Default: the provider's (off). */
  spinning?: boolean;
  /** The session runs once or twice and exits (a command-line query): see TuningOverrides.oneShot. */
  oneShot?: boolean;
}

export type InputTensor = { kind: 'float32'; data: Float32Array; dims: number[] } | { kind: 'int64'; data: BigInt64Array; dims: number[] };

export interface RunResult {
  data: Float32Array;
  dims: readonly number[];
}

/** What an encoder needs of a model session, in this thread or in an inference thread. */
export interface ModelSession {
  readonly path: string;
  /** The execution provider the session runs on. */
  readonly provider: Provider;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** The size of the last axis of the named output, if the model declares it statically. */
  outputWidth(name: string): number | undefined;
  /**
   * Runs the model and returns the named output as a flat Float32Array. With
   * `transfer`, the inputs' buffers may be handed to another thread: the caller
   * must not use them afterwards.
   */
  run(feeds: Record<string, InputTensor>, outputName: string, options?: { transfer?: boolean }): Promise<RunResult>;
  close(): Promise<void>;
}

/** onnxruntime's session options for a session of ours (see sessionOptionsFor). */
export function ortSessionOptions(options: SessionOptions): ort.InferenceSession.SessionOptions {
  return sessionOptionsFor(options.provider ?? 'cpu', { threads: options.threads, spinning: options.spinning, oneShot: options.oneShot });
}

/**
 * A session in the calling thread. Note that onnxruntime-node's run() is
 * synchronous underneath: the event loop of this thread stops for the whole
 * inference (see InferenceThread for the image pipeline).
 */
export class OnnxSession implements ModelSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly path: string,
    readonly provider: Provider,
  ) {}

  /** Opens a session on options.provider (the CPU by default), with no fallback. */
  static async open(path: string, options: SessionOptions = {}): Promise<OnnxSession> {
    const provider = options.provider ?? 'cpu';
    try {
      const session = await ort.InferenceSession.create(path, ortSessionOptions(options));
      return new OnnxSession(session, path, provider);
    } catch (err) {
      const on = provider === 'cpu' ? '' : ` on ${provider}`;
      throw new Error(`cannot load ONNX model ${path}${on}: ${(err as Error).message}`, { cause: err });
    }
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  outputWidth(name: string): number | undefined {
    const meta = this.session.outputMetadata.find((m) => m.name === name);
    if (!meta || !meta.isTensor) return undefined;
    const last = meta.shape[meta.shape.length - 1];
    return typeof last === 'number' ? last : undefined;
  }

  /** Every output's static width (for an inference thread to pass back in one message). */
  outputWidths(): Record<string, number | undefined> {
    return Object.fromEntries(this.session.outputNames.map((name) => [name, this.outputWidth(name)]));
  }

  async run(feeds: Record<string, InputTensor>, outputName: string): Promise<RunResult> {
    const tensors: Record<string, ort.Tensor> = {};
    // ort.Tensor wraps the typed array as it is: no copy on the way in.
    for (const [name, input] of Object.entries(feeds)) tensors[name] = new ort.Tensor(input.kind, input.data, input.dims);
    const result = await this.session.run(tensors, [outputName]);
    const out = result[outputName];
    if (!out || out.type !== 'float32') {
      throw new Error(`model ${this.path} returned no float32 output "${outputName}"`);
    }
    return { data: out.data as Float32Array, dims: out.dims };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
