// Turns the user's --model / --dtype into a local model directory: a directory is
// used as it is; a Hugging Face id is served from the cache, or downloaded once.
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cachedModelDir, downloadModel, isCached, modelFileNames, type Dtype } from './hub.js';

export type { Dtype } from './hub.js';

export const DEFAULT_MODEL = 'Xenova/clip-vit-base-patch32';
export const DTYPES: readonly Dtype[] = ['fp32', 'q8'];

export interface ModelSpec {
  /** A Hugging Face id ("owner/name") or the absolute path of a model directory. */
  id: string;
  dtype: Dtype;
}

/** Two specs (or a space's model and a spec) name the same model files: the same model and variant. */
export function sameSpec(a: { id: string; dtype: string }, b: { id: string; dtype: string }): boolean {
  return a.id === b.id && a.dtype === b.dtype;
}

export interface ResolvedModel extends ModelSpec {
  dir: string;
  visionPath: string;
  textPath: string;
}

const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

export function parseDtype(value: string): Dtype {
  if (!(DTYPES as readonly string[]).includes(value)) {
    throw new Error(`--dtype must be one of ${DTYPES.join(', ')}, not "${value}"`);
  }
  return value as Dtype;
}

/** An existing directory becomes its absolute path; otherwise it must look like a hub id. */
export function parseModelArg(value: string): string {
  const asPath = resolve(value);
  if (existsSync(asPath)) {
    if (!statSync(asPath).isDirectory()) throw new Error(`--model ${value}: not a directory`);
    return asPath;
  }
  if (HUB_ID.test(value)) return value;
  throw new Error(`--model ${value}: no such model directory, and not a Hugging Face id of the form owner/name`);
}

export interface ResolveOptions {
  cacheDir: string;
  endpoint?: string;
  /** Called before a download starts, so the CLI can say why it is waiting. */
  onDownload?: (id: string) => void;
}

export async function resolveModel(spec: ModelSpec, options: ResolveOptions): Promise<ResolvedModel> {
  let dir: string;
  if (spec.id.startsWith('/')) {
    dir = spec.id;
  } else if (isCached(spec.id, spec.dtype, options.cacheDir)) {
    dir = cachedModelDir(spec.id, options.cacheDir);
  } else {
    options.onDownload?.(spec.id);
    dir = await downloadModel(spec.id, spec.dtype, options);
  }
  const names = modelFileNames(spec.dtype);
  const missing = [names.vision, names.text, ...names.json].filter((f) => !existsSync(join(dir, f)));
  if (missing.length > 0) {
    throw new Error(`model directory ${dir} lacks ${missing.join(', ')} (needed for --dtype ${spec.dtype})`);
  }
  return { ...spec, dir, visionPath: join(dir, names.vision), textPath: join(dir, names.text) };
}
