// The one module that uses @huggingface/transformers: Hugging Face hub download
// and caching, and tokenizers. Nothing else imports it, so it can be swapped.
// The library is imported when first needed (100–150 ms of loading): a cold
// search starts its text model's session in its inference thread meanwhile.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

type Transformers = typeof import('@huggingface/transformers');
let transformers: Promise<Transformers> | null = null;

function library(): Promise<Transformers> {
  transformers ??= import('@huggingface/transformers').then((t) => {
    t.env.logLevel = t.LogLevel.ERROR;
    return t;
  });
  return transformers;
}

export type Dtype = 'fp32' | 'q8';

export interface HubOptions {
  /** Where downloaded models are kept; a model found here is used without network. */
  cacheDir: string;
  /** Hub base URL; defaults to HF_ENDPOINT or https://huggingface.co/. */
  endpoint?: string;
}

/** The files a model directory must hold for picsift, per dtype. */
export function modelFileNames(dtype: Dtype): { vision: string; text: string; json: string[] } {
  const suffix = dtype === 'q8' ? '_quantized' : '';
  return {
    vision: `onnx/vision_model${suffix}.onnx`,
    text: `onnx/text_model${suffix}.onnx`,
    json: ['config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json'],
  };
}

/** Where a hub model lives in the cache (transformers.js's file-cache layout: cacheDir/owner/name/file). */
export function cachedModelDir(id: string, cacheDir: string): string {
  return join(cacheDir, ...id.split('/'));
}

export function isCached(id: string, dtype: Dtype, cacheDir: string): boolean {
  const dir = cachedModelDir(id, cacheDir);
  const names = modelFileNames(dtype);
  return [names.vision, names.text, ...names.json].every((f) => existsSync(join(dir, f)));
}

/**
 * Downloads a hub model's configuration, tokenizer and both encoders into the
 * cache and returns its directory. transformers.js does the fetching, retries
 * and cache layout; loading each encoder once through it is the public way to
 * make it fetch the ONNX files (we then run them with our own session).
 */
export async function downloadModel(id: string, dtype: Dtype, options: HubOptions): Promise<string> {
  const {
    AutoConfig,
    AutoImageProcessor,
    AutoTokenizer,
    CLIPTextModelWithProjection,
    CLIPVisionModelWithProjection,
    env,
    SiglipTextModel,
    SiglipVisionModel,
  } = await library();
  env.allowRemoteModels = true;
  env.useFSCache = true;
  env.cacheDir = options.cacheDir;
  env.remoteHost = withSlash(options.endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co/');
  const from = { cache_dir: options.cacheDir };
  try {
    const config = await AutoConfig.from_pretrained(id, from);
    await AutoImageProcessor.from_pretrained(id, from);
    await AutoTokenizer.from_pretrained(id, from);
    // Each class fetches its own graph (onnx/vision_model…, onnx/text_model…).
    const encoders =
      (config as { model_type?: string }).model_type === 'siglip'
        ? [SiglipVisionModel, SiglipTextModel]
        : [CLIPVisionModelWithProjection, CLIPTextModelWithProjection];
    for (const Model of encoders) {
      const model = await Model.from_pretrained(id, { ...from, dtype, device: 'cpu' });
      await model.dispose();
    }
  } catch (err) {
    throw new Error(`cannot download model ${id} from ${env.remoteHost}: ${(err as Error).message}`, { cause: err });
  }
  const dir = cachedModelDir(id, options.cacheDir);
  if (!isCached(id, dtype, options.cacheDir)) {
    throw new Error(`model ${id} was downloaded but ${dir} lacks some of its files (${dtype})`);
  }
  return dir;
}

export interface Tokenized {
  ids: BigInt64Array;
  dims: [number, number];
  attentionMask: BigInt64Array;
}

export interface TextTokenizer {
  tokenize(texts: string[]): Tokenized;
}

export interface TokenizeOptions {
  /** Pad (and truncate) every text to this many tokens; null pads a batch to its longest text. */
  padToLength: number | null;
  lowercase: boolean;
}

/** Loads the tokenizer of a model directory (tokenizer.json + tokenizer_config.json). */
export async function loadTokenizer(dir: string, options: TokenizeOptions): Promise<TextTokenizer> {
  const { AutoTokenizer, env } = await library();
  env.allowRemoteModels = false;
  // An absolute path is never mistaken for a hub id by transformers.js.
  const tokenizer = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
  const padding = options.padToLength === null ? { padding: true } : { padding: 'max_length' as const, max_length: options.padToLength };
  return {
    tokenize(texts: string[]): Tokenized {
      const input = options.lowercase ? texts.map((t) => t.toLowerCase()) : texts;
      const enc = tokenizer(input, { ...padding, truncation: true });
      const ids = enc.input_ids;
      return {
        ids: ids.data as BigInt64Array,
        dims: [ids.dims[0], ids.dims[1]],
        attentionMask: enc.attention_mask.data as BigInt64Array,
      };
    },
  };
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
