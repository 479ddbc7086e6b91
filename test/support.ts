// Shared test helpers: temporary folders, generated images, running the real CLI.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { openCatalog } from '../src/catalog/open-catalog.js';
import type { StoredVector } from '../src/catalog/types.js';
import { seededRandom } from '../src/testmodels/prng.js';
import { normalizeInPlace } from '../src/util/vectors.js';
import { repoRoot } from '../scripts/paths.js';

export { models, repoRoot, sharedDir } from '../scripts/paths.js';

/** A fresh temporary folder, removed when the test ends. */
export function tempDir(t: { after: (fn: () => void) => void }, prefix = 'picsift-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export const COLOURS: Record<string, [number, number, number]> = {
  red: [230, 20, 25],
  green: [20, 200, 40],
  blue: [25, 30, 220],
  yellow: [235, 225, 30],
  black: [10, 10, 10],
  white: [245, 245, 245],
};

/** A solid-colour JPEG with a little noise, so that it looks like a photo to the decoder. */
export async function writeSolidJpeg(path: string, rgb: [number, number, number], width = 320, height = 240): Promise<void> {
  const pixels = Buffer.alloc(width * height * 3);
  let seed = rgb[0] * 65536 + rgb[1] * 256 + rgb[2] + width;
  for (let i = 0; i < pixels.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const noise = (seed % 21) - 10;
    pixels[i] = Math.max(0, Math.min(255, rgb[i % 3] + noise));
  }
  await sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toFile(path);
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs bin/picsift.js as a user would, in its own process. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'picsift.js'), ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts bin/picsift.js without waiting, for tests that kill it. */
export function startCli(args: string[]): { child: ReturnType<typeof spawn>; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'picsift.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? -1 : null), stdout, stderr })),
  );
  return { child, done };
}

/** Deterministic "random" moments and data, so failures are reproducible. */
export { seededRandom };

/** A reproducible random unit vector. */
export function randomUnitVector(seed: number, dims: number): Float32Array {
  const random = seededRandom(seed);
  const v = Float32Array.from({ length: dims }, () => random() - 0.5);
  normalizeInPlace(v, 0, dims);
  return v;
}

/** Every page of an async page iterator, flattened. */
export async function allOf<T>(pages: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) out.push(...page);
  return out;
}

/** The embedded vectors of a library, by file path (read through the catalogue). */
export async function vectorsByPath(library: string, catalogUrl?: string): Promise<Map<string, Float32Array>> {
  const catalog = await openCatalog({ libraryDir: library, url: catalogUrl }, { mustExist: true });
  try {
    const vectors: StoredVector[] = await allOf(catalog.vectors.tail(0));
    const records = await catalog.images.get(vectors.map((v) => v.id));
    return new Map(vectors.map((v) => [records.get(v.id)!.path, v.vector]));
  } finally {
    await catalog.close();
  }
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}
