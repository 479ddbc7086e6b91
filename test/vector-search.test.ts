import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { SqliteCatalog } from '../src/catalog/sqlite-catalog.js';
import { AnnIndex, buildIndex } from '../src/index/ann-index.js';
import { searchVectors } from '../src/search/vector-search.js';
import { dot } from '../src/util/vectors.js';
import { randomUnitVector, tempDir } from './support.js';
import type { Catalog, ScannedFile } from '../src/catalog/catalog.js';

/** These libraries are small enough to be scored exactly by default: go through the index. */
const VIA_INDEX = { exactLimit: 0 };

/** Registers files as one scan would. */
const register = (catalog: Catalog, files: ScannedFile[]) => catalog.registerFiles(files, catalog.beginScan());

const DIMS = 64;

const randomUnit = (seed: number): Float32Array => randomUnitVector(seed, DIMS);

function libraryWith(t: Parameters<typeof tempDir>[0], count: number) {
  const dir = tempDir(t);
  const catalog = new SqliteCatalog(join(dir, 'catalog.sqlite'));
  t.after(() => catalog.close());
  add(catalog, 0, count);
  return { catalog, indexDir: join(dir, 'index') };
}

function add(catalog: SqliteCatalog, from: number, count: number): void {
  register(
    catalog,
    Array.from({ length: count }, (_, i) => ({ path: `/p/${from + i}.jpg`, size: 1, mtimeMs: 1, format: 'jpg' })),
  );
  const pending = catalog.pendingImages(0, count + from + 1);
  catalog.commitBatch(
    pending.map((r) => ({ id: r.id, size: 1, mtimeMs: 1, vector: randomUnit(r.id), width: 1, height: 1, contentHash: '' })),
    [],
  );
}

function bruteForce(catalog: SqliteCatalog, q: Float32Array, k: number): number[] {
  return [...catalog.vectorsAfter(0)]
    .map((v) => ({ id: v.id, score: dot(q, v.vector) }))
    .sort((a, b) => b.score - a.score || a.id - b.id)
    .slice(0, k)
    .map((h) => h.id);
}

const MODEL = { id: 'test', dtype: 'fp32', dims: DIMS };

test('without an index, search is exact', (t) => {
  const { catalog } = libraryWith(t, 300);
  const q = randomUnit(12345);
  assert.deepEqual(
    searchVectors(catalog, null, q, 10).map((h) => h.id),
    bruteForce(catalog, q, 10),
  );
});

test('with an index, results agree with exact search and scores are exact cosines', (t) => {
  const { catalog, indexDir } = libraryWith(t, 2000);
  buildIndex(indexDir, MODEL, (seq) => catalog.vectorsAfter(seq));
  const index = AnnIndex.open(indexDir)!;
  assert.equal(index.manifest.count, 2000);
  let agree = 0;
  for (let i = 0; i < 20; i++) {
    const q = randomUnit(777 + i);
    const hits = searchVectors(catalog, index, q, 10, VIA_INDEX);
    const exact = bruteForce(catalog, q, 10);
    agree += hits.filter((h) => exact.includes(h.id)).length;
    const stored = catalog.vectorsOf([hits[0].id]).get(hits[0].id)!;
    assert.equal(hits[0].score, dot(q, stored.vector));
  }
  assert.ok(agree / 200 >= 0.95, `recall@10 ${agree / 200}`);
});

test('a stale index still gives complete answers: vectors added after the build are found', (t) => {
  const { catalog, indexDir } = libraryWith(t, 500);
  buildIndex(indexDir, MODEL, (seq) => catalog.vectorsAfter(seq));
  add(catalog, 500, 50);
  const index = AnnIndex.open(indexDir)!;
  const newcomers = [...catalog.vectorsAfter(index.manifest.watermark)];
  assert.equal(newcomers.length, 50);
  for (const newcomer of newcomers.slice(0, 5)) {
    const hits = searchVectors(catalog, index, newcomer.vector, 3, VIA_INDEX);
    assert.equal(hits[0].id, newcomer.id, 'a vector committed after the build is its own nearest neighbour');
  }
});

test('a re-embedded image is scored by its new vector, never by the stale index entry', (t) => {
  const { catalog, indexDir } = libraryWith(t, 200);
  buildIndex(indexDir, MODEL, (seq) => catalog.vectorsAfter(seq));
  const victim = catalog.images([1]).get(1)!;
  const oldVector = catalog.vectorsOf([1]).get(1)!.vector;
  register(catalog, [{ path: victim.path, format: victim.format, mtimeMs: victim.mtimeMs, size: 2 }]);
  const replacement = randomUnit(99999);
  catalog.commitBatch([{ id: 1, size: 1, mtimeMs: 1, vector: replacement, width: 1, height: 1, contentHash: '' }], []);
  const hits = searchVectors(catalog, AnnIndex.open(indexDir), oldVector, 5, VIA_INDEX);
  const entry = hits.find((h) => h.id === 1);
  if (entry) assert.equal(entry.score, dot(oldVector, replacement));
  assert.equal(searchVectors(catalog, AnnIndex.open(indexDir), replacement, 1, VIA_INDEX)[0].id, 1);
});

test('refreshing adds only the new vectors; a damaged manifest falls back to exact search', (t) => {
  const { catalog, indexDir } = libraryWith(t, 300);
  const first = buildIndex(indexDir, MODEL, (seq) => catalog.vectorsAfter(seq));
  assert.equal(first.refreshed, false);
  add(catalog, 300, 40);
  const second = buildIndex(indexDir, MODEL, (seq) => catalog.vectorsAfter(seq));
  assert.deepEqual([second.refreshed, second.added, second.manifest.count], [true, 40, 340]);

  writeFileSync(join(indexDir, 'manifest.json'), '{ not json');
  assert.equal(AnnIndex.open(indexDir), null);
  const q = randomUnit(4242);
  assert.deepEqual(
    searchVectors(catalog, null, q, 5).map((h) => h.id),
    bruteForce(catalog, q, 5),
  );
});
