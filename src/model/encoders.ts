// CLIP-family image and text encoders (CLIP, SigLIP): ONNX sessions plus what
// they need around them (preprocessing config, tokenizer, the family's output
// names), returning L2-normalised vectors.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openOnDevice, resolveDevice, type Device, type DeviceChoice, type Provider } from './execution-provider.js';
import { InferenceThread } from './inference-thread.js';
import { OnnxSession, type ModelSession, type SessionOptions } from './onnx-session.js';
import { loadTokenizer, type TextTokenizer } from './hub.js';
import type { ResolvedModel } from './model-files.js';
import { readModelFamily, type ModelFamily } from './model-family.js';
import { parsePreprocessorConfig, type PreprocessConfig } from '../media/preprocessor-config.js';
import { normalizeInPlace } from '../util/vectors.js';

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

function normalizeRows(data: Float32Array, rows: number, dims: number): Float32Array {
  for (let r = 0; r < rows; r++) normalizeInPlace(data, r * dims, dims);
  return data;
}

/** Width of an encoder's output, from the graph's metadata or else config.json's projection_dim. */
function embeddingDims(session: ModelSession, output: string, modelDir: string, family: ModelFamily): number {
  if (!session.outputNames.includes(output)) {
    throw new Error(
      `${session.path} has no output "${output}", which ${family.name === 'siglip' ? 'a SigLIP' : 'a CLIP'} export has (config.json's model_type); its outputs: ${session.outputNames.join(', ')}`,
    );
  }
  const declared = session.outputWidth(output);
  if (declared) return declared;
  const config = readJson(join(modelDir, 'config.json')) as { projection_dim?: unknown };
  if (typeof config.projection_dim === 'number') return config.projection_dim;
  throw new Error(
    `cannot tell the embedding size of ${session.path}: its output "${output}" has no static width and config.json has no projection_dim`,
  );
}

export interface DeviceOptions {
  /**
   * Where the model runs: a device name ('auto', 'cpu', 'cuda', 'webgpu', 'dml',
   * 'coreml') or resolveDevice's choice. Default: SessionOptions.provider, else the
   * CPU. `auto` and an explicit GPU are opened through openOnDevice: probed, with
   * a one-line fallback (auto) or a one-line DeviceError (explicit device).
   */
  device?: Device | DeviceChoice;
  /** Receives the one line said when `auto` falls back; default: written to stderr. */
  onFallback?: (line: string) => void;
}

function deviceChoice(options: SessionOptions & DeviceOptions): DeviceChoice {
  const device = options.device ?? options.provider ?? 'cpu';
  return typeof device === 'string' ? resolveDevice(device) : device;
}

export interface ImageEncoderOptions extends SessionOptions, DeviceOptions {
  /**
   * Model sessions, each in its own inference thread, that encode batches side by
   * side; 0 runs one session in the calling thread (whose event loop then stops
   * during every inference). Default DEFAULT_IMAGE_SESSIONS.
   */
  sessions?: number;
}

/** One inference thread: the main thread stays free to decode while the model runs (bench:embed). */
export const DEFAULT_IMAGE_SESSIONS = 1;

export class ImageEncoder {
  private readonly busy: number[];

  private constructor(
    private readonly sessions: readonly ModelSession[],
    /** The execution provider that runs the model. */
    readonly provider: Provider,
    readonly preprocess: PreprocessConfig,
    readonly dims: number,
    private readonly output: string,
  ) {
    this.busy = sessions.map(() => 0);
  }

  static async load(model: ResolvedModel, options: ImageEncoderOptions = {}): Promise<ImageEncoder> {
    const family = readModelFamily(model.dir);
    const configPath = join(model.dir, 'preprocessor_config.json');
    const preprocess = parsePreprocessorConfig(readJson(configPath), configPath);
    const count = options.sessions ?? DEFAULT_IMAGE_SESSIONS;
    const openAll = async (provider: Provider): Promise<ModelSession[]> => {
      const sessionOptions: SessionOptions = { provider, threads: options.threads, spinning: options.spinning };
      if (count === 0) return [await OnnxSession.open(model.visionPath, sessionOptions)];
      const opened = await Promise.allSettled(Array.from({ length: count }, () => InferenceThread.open(model.visionPath, sessionOptions)));
      const sessions = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
      const failed = opened.find((o) => o.status === 'rejected');
      if (failed) {
        await Promise.all(sessions.map((s) => s.close()));
        throw failed.reason;
      }
      return sessions;
    };
    const { value: sessions, provider } = await openOnDevice(deviceChoice(options), openAll, {
      what: model.visionPath,
      onFallback: options.onFallback,
    });
    try {
      const dims = embeddingDims(sessions[0], family.imageOutput, model.dir, family);
      return new ImageEncoder(sessions, provider, preprocess, dims, family.imageOutput);
    } catch (err) {
      await Promise.all(sessions.map((s) => s.close()));
      throw err;
    }
  }

  /** Size of one preprocessed image in floats (3 × crop height × crop width). */
  get pixelsPerImage(): number {
    return 3 * this.preprocess.cropHeight * this.preprocess.cropWidth;
  }

  /** How many encode() calls can usefully run at once (one per session). */
  get parallelism(): number {
    return this.sessions.length;
  }

  /**
   * Encodes `count` preprocessed images laid out back to back in `pixels`. With
   * `transfer`, `pixels`' buffer is handed to the inference thread without a copy
   * and must not be used by the caller afterwards.
   */
  async encode(pixels: Float32Array, count: number, options: { transfer?: boolean } = {}): Promise<Float32Array> {
    const { cropHeight, cropWidth } = this.preprocess;
    const input = pixels.length === count * this.pixelsPerImage ? pixels : pixels.subarray(0, count * this.pixelsPerImage);
    // The least busy session takes the batch.
    const which = this.busy.indexOf(Math.min(...this.busy));
    this.busy[which]++;
    try {
      const out = await this.sessions[which].run(
        { pixel_values: { kind: 'float32', data: input, dims: [count, 3, cropHeight, cropWidth] } },
        this.output,
        options,
      );
      return normalizeRows(out.data, count, this.dims);
    } finally {
      this.busy[which]--;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.sessions.map((s) => s.close()));
  }
}

/**
 * The text encoder runs in an inference thread too: creating its session is a
 * synchronous half second of loading weights (CLIP ViT-B/32's text tower, fp32:
 * 254 MB; 630 ms of a 1.2 s cold search-text here), which the calling thread
 * now spends loading the tokenizer, the catalogue and the index instead.
 */
export class TextEncoder {
  private constructor(
    private readonly session: ModelSession,
    private readonly tokenizer: TextTokenizer,
    readonly dims: number,
    private readonly output: string,
  ) {}

  /** The execution provider that runs the model. */
  get provider(): Provider {
    return this.session.provider;
  }

  /** `onThreadStarted`: called once the session's thread exists and loads the weights (the caller may then block its own thread). */
  static async load(
    model: ResolvedModel,
    options: SessionOptions & DeviceOptions & { onThreadStarted?: () => void } = {},
  ): Promise<TextEncoder> {
    const family = readModelFamily(model.dir);
    const open = (provider: Provider): Promise<ModelSession> => {
      const opening = InferenceThread.open(model.textPath, {
        provider,
        threads: options.threads,
        spinning: options.spinning,
        oneShot: options.oneShot,
      });
      options.onThreadStarted?.();
      return opening;
    };
    const [{ value: session }, tokenizer] = await Promise.all([
      openOnDevice(deviceChoice(options), open, { what: model.textPath, onFallback: options.onFallback }),
      loadTokenizer(model.dir, family),
    ]);
    try {
      return new TextEncoder(session, tokenizer, embeddingDims(session, family.textOutput, model.dir, family), family.textOutput);
    } catch (err) {
      await session.close();
      throw err;
    }
  }

  async encode(texts: string[]): Promise<Float32Array> {
    const t = this.tokenizer.tokenize(texts);
    const feeds: Parameters<ModelSession['run']>[0] = { input_ids: { kind: 'int64', data: t.ids, dims: t.dims } };
    // Some exports take an attention mask, others pool on the end-of-text token only.
    if (this.session.inputNames.includes('attention_mask')) {
      feeds.attention_mask = { kind: 'int64', data: t.attentionMask, dims: t.dims };
    }
    const out = await this.session.run(feeds, this.output);
    return normalizeRows(out.data, texts.length, this.dims);
  }

  close(): Promise<void> {
    return this.session.close();
  }
}
