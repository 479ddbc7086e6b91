// A real SQLite catalogue filled with known vectors, for the search tests: files
// registered as a scan would, vectors committed as the pipeline would.
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { openCatalog } from '../src/catalog/open-catalog.js';
import type { Catalog } from '../src/catalog/ports.js';
import { NO_EXIF, type ExifFacts, type ImageRecord, type ScannedFile } from '../src/catalog/types.js';
import type { IndexIdentity } from '../src/index/ann-index.js';
import { tempDir } from './support.js';

export const TEST_MODEL = (dims: number) => ({ id: 'test', dtype: 'fp32', dims });

export interface TestLibrary {
  catalog: Catalog;
  dir: string;
  indexDir: string;
  identity: IndexIdentity;
}

/** A new SQLite catalogue whose model makes `dims`-wide vectors; closed when the test ends. */
export async function testLibrary(t: TestContext, dims: number): Promise<TestLibrary> {
  const dir = tempDir(t);
  const catalog = await openCatalog({ libraryDir: dir });
  t.after(() => catalog.close());
  const model = TEST_MODEL(dims);
  await catalog.models.claimModel(model);
  return { catalog, dir, indexDir: join(dir, 'index'), identity: { catalogId: await catalog.identity(), model } };
}

/** Registers files as one scan would. */
export async function register(catalog: Catalog, files: ScannedFile[]) {
  return catalog.scans.registerFiles(files, await catalog.scans.beginScan());
}

/** Registers /p/FROM.jpg … and commits a vector for each: `vector(id)`, with optional per-image facts. */
export async function addImages(
  catalog: Catalog,
  from: number,
  count: number,
  vector: (id: number) => Float32Array,
  facts: (i: number) => { width?: number; height?: number; exif?: ExifFacts; file?: Partial<ScannedFile> } = () => ({}),
): Promise<void> {
  await register(
    catalog,
    Array.from({ length: count }, (_, i) => ({ path: `/p/${from + i}.jpg`, size: 1, mtimeMs: 1, format: 'jpg', ...facts(from + i).file })),
  );
  const queue = catalog.embedQueue();
  for (;;) {
    const pending = await queue.claim(500);
    if (pending.length === 0) break;
    await queue.commit(
      pending.map((r) => {
        const f = facts(Number(/\/p\/(\d+)\./.exec(r.path)?.[1] ?? r.id));
        return {
          id: r.id,
          size: 1,
          mtimeMs: 1,
          vector: vector(r.id),
          width: f.width ?? 1,
          height: f.height ?? 1,
          contentHash: '',
          exif: f.exif,
        };
      }),
      [],
    );
  }
  await queue.close();
}

/** The ids of the k best scores by brute force over every stored vector. */
export async function bruteForce(catalog: Catalog, q: Float32Array, k: number, accept?: Set<number>): Promise<number[]> {
  const scored: { id: number; score: number }[] = [];
  for await (const page of catalog.vectors.tail(0)) {
    for (const v of page) {
      if (accept && !accept.has(v.id)) continue;
      let s = 0;
      for (let i = 0; i < q.length; i++) s += q[i] * v.vector[i];
      scored.push({ id: v.id, score: s });
    }
  }
  return scored
    .sort((a, b) => b.score - a.score || a.id - b.id)
    .slice(0, k)
    .map((h) => h.id);
}

/** A pending image record as a claim hands it out, for stage tests that need no catalogue. */
export const pendingRecord = (id: number, path: string): ImageRecord =>
  ({
    id,
    path,
    size: 0,
    mtimeMs: 0,
    format: 'jpg',
    status: 'pending',
    width: null,
    height: null,
    contentHash: null,
    error: null,
    exif: NO_EXIF,
  }) as ImageRecord;
