// Parsers for option values: each refuses a bad value with one line naming the
// option and what it takes.
import { InvalidArgumentError } from 'commander';
import { parsePathMapping, type PathMapping } from '../pipeline/path-map.js';

export function positiveInt(name: string, max?: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1 || (max !== undefined && n > max)) {
      throw new InvalidArgumentError(`${name} must be a whole number from 1${max ? ` to ${max}` : ' up'}, not "${value}"`);
    }
    return n;
  };
}

export function score(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < -1 || n > 1) {
      throw new InvalidArgumentError(`${name} must be a cosine score from -1 to 1, not "${value}"`);
    }
    return n;
  };
}

/** Repeatable options collect into an array (no shared default array). */
export const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export function portNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError(`--port must be a number from 0 to 65535, not "${value}"`);
  return n;
}

export function positiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0)
      throw new InvalidArgumentError(`${name} must be a number above 0, not "${value}"`);
    return n;
  };
}

/** The pipeline options embed and reembed share, as their commands parse them. */
export interface EmbedRunOptions {
  batchSize?: number;
  maxPixels: number;
  /** Seconds. */
  fileTimeout: number;
  retryFailed?: boolean;
  pathMap?: string[];
}

/** Those options as the embed services take them. */
export function embedRunRequest(options: EmbedRunOptions): {
  batchSize?: number;
  maxPixels: number;
  fileTimeoutMs: number;
  retryFailed?: boolean;
  pathMap: PathMapping[];
} {
  return {
    batchSize: options.batchSize,
    maxPixels: options.maxPixels,
    fileTimeoutMs: options.fileTimeout * 1000,
    retryFailed: options.retryFailed,
    pathMap: (options.pathMap ?? []).map(parsePathMapping),
  };
}
