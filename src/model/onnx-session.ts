// The one module that talks to onnxruntime-node. Choosing the execution provider
// and the session tuning lives here, so a GPU provider is a change to this file only.
import * as ort from 'onnxruntime-node';

export interface SessionOptions {
  /** Intra-op threads; 0 lets onnxruntime use one per physical core. */
  threads?: number;
  /**
   * Let idle intra-op threads busy-wait for the next parallel section (onnxruntime's
   * default). Off by default here: a spinning thread burns the core that the image
   * decoder needs. bench:embed, CLIP ViT-B/32 on 2 cores: CPU per embedded photo
   * 31.5 ms without spinning vs 43.4 ms with it (q8), 57.5 vs 69.6 ms (fp32); the
   * model alone gains at most 3–5% from spinning on an idle machine.
   */
  spinning?: boolean;
}

export type InputTensor = { kind: 'float32'; data: Float32Array; dims: number[] } | { kind: 'int64'; data: BigInt64Array; dims: number[] };

export interface RunResult {
  data: Float32Array;
  dims: readonly number[];
}

/** What an encoder needs of a model session, in this thread or in an inference thread. */
export interface ModelSession {
  readonly path: string;
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

/** onnxruntime's session options for our use: CPU, whole-graph optimisation, one request at a time. */
export function ortSessionOptions(options: SessionOptions): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    // 'all' (layout transforms included) measured fastest for CLIP ViT-B/32 fp32 and q8.
    graphOptimizationLevel: 'all',
    intraOpNumThreads: options.threads ?? 0,
    // One request at a time per session: the pipeline batches instead.
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // Flattened by the Node binding into "session.intra_op.allow_spinning".
    extra: { session: { intra_op: { allow_spinning: options.spinning ? '1' : '0' } } },
  };
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
  ) {}

  static async open(path: string, options: SessionOptions = {}): Promise<OnnxSession> {
    try {
      const session = await ort.InferenceSession.create(path, ortSessionOptions(options));
      return new OnnxSession(session, path);
    } catch (err) {
      throw new Error(`cannot load ONNX model ${path}: ${(err as Error).message}`);
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
