// Loading a model's encoders for a use case: resolving --model to a local folder
// (downloading a hub model once, and saying so), then opening the ONNX sessions.
// One place, so the CLI and the server load and announce models the same way.
import type { LibraryPaths } from './library.js';
import { ImageEncoder, TextEncoder, type ImageEncoderOptions } from '../model/encoders.js';
import { resolveModel, type ModelSpec, type ResolvedModel } from '../model/model-files.js';

export class ModelLoader {
  constructor(
    private readonly paths: LibraryPaths,
    private readonly say: (line: string) => void,
  ) {}

  resolve(spec: ModelSpec): Promise<ResolvedModel> {
    return resolveModel(spec, {
      cacheDir: this.paths.modelCache,
      onDownload: (id) => this.say(`downloading model ${id} into ${this.paths.modelCache} (once; later runs work offline)…`),
    });
  }

  async textEncoder(spec: ModelSpec): Promise<TextEncoder> {
    return TextEncoder.load(await this.resolve(spec));
  }

  async imageEncoder(spec: ModelSpec, options?: ImageEncoderOptions): Promise<ImageEncoder> {
    return ImageEncoder.load(await this.resolve(spec), options);
  }
}
