// The one module that talks to onnxruntime-node. Choosing the execution provider
// and the session tuning lives here, so a GPU provider is a change to this file only.
import * as ort from 'onnxruntime-node';

export interface SessionOptions {
  /** Intra-op threads; 0 lets onnxruntime use one per physical core. */
  threads?: number;
}

export type InputTensor = { kind: 'float32'; data: Float32Array; dims: number[] } | { kind: 'int64'; data: BigInt64Array; dims: number[] };

export class OnnxSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly path: string,
  ) {}

  static async open(path: string, options: SessionOptions = {}): Promise<OnnxSession> {
    try {
      const session = await ort.InferenceSession.create(path, {
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'all',
        intraOpNumThreads: options.threads ?? 0,
        // One request at a time per session: the pipeline batches instead.
        interOpNumThreads: 1,
        executionMode: 'sequential',
      });
      return new OnnxSession(session, path);
    } catch (err) {
      throw new Error(`cannot load ONNX model ${path}: ${(err as Error).message}`);
    }
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  /** The size of the last axis of the named output, if the model declares it statically. */
  outputWidth(name: string): number | undefined {
    const meta = this.session.outputMetadata.find((m) => m.name === name);
    if (!meta || !meta.isTensor) return undefined;
    const last = meta.shape[meta.shape.length - 1];
    return typeof last === 'number' ? last : undefined;
  }

  /** Runs the model and returns the named output as a flat Float32Array. */
  async run(feeds: Record<string, InputTensor>, outputName: string): Promise<{ data: Float32Array; dims: readonly number[] }> {
    const tensors: Record<string, ort.Tensor> = {};
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
