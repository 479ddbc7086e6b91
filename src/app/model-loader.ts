// Loading a model's encoders for a use case: resolving --model to a local folder
// (downloading a hub model once, and saying so), then opening the ONNX sessions.
// One place, so the CLI and the server load and announce models the same way.
import type { LibraryPaths } from './library.js';
import type { ImageEncoder, ImageEncoderOptions, TextEncoder } from '../model/encoders.js';
import type { DeviceChoice } from '../model/execution-provider.js';
import { resolveModel, type ModelSpec, type ResolvedModel } from '../model/model-files.js';

export class ModelLoader {
  /**
   * @param say hears the download notice and, when `auto` falls back to another provider, that line.
   * @param options.device where this machine runs the models (resolveDevice's choice); default: the CPU.
   * @param options.oneShot the models answer a query or two and the process exits (a command-line search).
   */
  constructor(
    private readonly paths: LibraryPaths,
    private readonly say: (line: string) => void,
    private readonly options: { device?: DeviceChoice; oneShot?: boolean } = {},
  ) {}

  /**
   * Starts a model thread (and onnxruntime in it) before the model is known, for a
   * one-shot query: it then loads beside the catalogue's opening. See InferenceThread.prestart.
   */
  static prestart(): void {
    void import('../model/inference-thread.js').then(({ InferenceThread }) => InferenceThread.prestart());
  }

  async resolve(spec: ModelSpec): Promise<ResolvedModel> {
    let downloading = false;
    try {
      return await resolveModel(spec, {
        cacheDir: this.paths.modelCache,
        onDownload: (id) => {
          downloading = true;
          this.say(`downloading model ${id} into ${this.paths.modelCache} (once; later runs work offline)…`);
        },
      });
    } catch (err) {
      if (!downloading) throw err;
      // Offline, or the hub is unreachable: say every way to give picsift the model.
      throw new Error(
        `${(err as Error).message}. Without the hub: give --model a local model folder (config.json, tokenizer.json, ` +
          `onnx/vision_model.onnx, onnx/text_model.onnx, …), point HF_ENDPOINT at a mirror, or set PICSIFT_MODEL_CACHE ` +
          `to a folder that already holds ${spec.id}`,
        { cause: err },
      );
    }
  }

  // The encoders' modules (onnxruntime, transformers.js) load when a model is first needed.
  /** `onThreadStarted`: see TextEncoder.load. */
  async textEncoder(spec: ModelSpec, onThreadStarted?: () => void): Promise<TextEncoder> {
    const { TextEncoder } = await import('../model/encoders.js');
    return TextEncoder.load(await this.resolve(spec), { ...this.options, onFallback: this.say, onThreadStarted });
  }

  async imageEncoder(spec: ModelSpec, options?: ImageEncoderOptions): Promise<ImageEncoder> {
    const { ImageEncoder } = await import('../model/encoders.js');
    return ImageEncoder.load(await this.resolve(spec), { device: this.options.device, onFallback: this.say, ...options });
  }
}
