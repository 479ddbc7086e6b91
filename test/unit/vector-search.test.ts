import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { AnnIndex, buildIndex } from '../../src/index/ann-index.js';
import { searchVectors } from '../../src/search/vector-search.js';
import { dot } from '../../src/util/vectors.js';
import { allOf, randomUnitVector } from '../support.js';
import { addImages, bruteForce, register, testLibrary } from '../catalog-fixture.js';

/** These libraries are small enough to be scored exactly by default: go through the index. */
const VIA_INDEX = { exactLimit: 0 };

const DIMS = 64;

const randomUnit = (seed: number): Float32Array => randomUnitVector(seed, DIMS);

async function libraryWith(t: TestContext, count: number) {
  const lib = await testLibrary(t, DIMS);
  await addImages(lib.catalog, 0, count, randomUnit);
  const build = () => buildIndex(lib.indexDir, lib.identity, (from) => lib.catalog.vectors.readForIndex(from));
  return { ...lib, build, open: () => AnnIndex.open(lib.indexDir, lib.identity) };
}

test('without an index, search is exact', async (t) => {
  const { catalog } = await libraryWith(t, 300);
  const q = randomUnit(12345);
  assert.deepEqual(
    (await searchVectors(catalog.vectors, null, q, 10)).map((h) => h.id),
    await bruteForce(catalog, q, 10),
  );
});

test('with an index, results agree with exact search and scores are exact cosines', async (t) => {
  const { catalog, build, open } = await libraryWith(t, 2000);
  await build();
  const index = open()!;
  assert.equal(index.manifest.count, 2000);
  let agree = 0;
  for (let i = 0; i < 20; i++) {
    const q = randomUnit(777 + i);
    const hits = await searchVectors(catalog.vectors, index, q, 10, VIA_INDEX);
    const exact = await bruteForce(catalog, q, 10);
    agree += hits.filter((h) => exact.includes(h.id)).length;
    const stored = (await catalog.vectors.vectorsOf([hits[0].id])).get(hits[0].id)!;
    assert.equal(hits[0].score, dot(q, stored.vector));
  }
  assert.ok(agree / 200 >= 0.95, `recall@10 ${agree / 200}`);
});

test('a stale index still gives complete answers: vectors added after the build are found', async (t) => {
  const { catalog, build, open } = await libraryWith(t, 500);
  await build();
  await addImages(catalog, 500, 50, randomUnit);
  const index = open()!;
  const newcomers = await allOf(catalog.vectors.tail(index.manifest.upTo));
  assert.equal(newcomers.length, 50);
  for (const newcomer of newcomers.slice(0, 5)) {
    const hits = await searchVectors(catalog.vectors, index, newcomer.vector, 3, VIA_INDEX);
    assert.equal(hits[0].id, newcomer.id, 'a vector committed after the build is its own nearest neighbour');
  }
});

test('a re-embedded image is scored by its new vector, never by the stale index entry', async (t) => {
  const { catalog, build, open } = await libraryWith(t, 200);
  await build();
  const victim = (await catalog.images.get([1])).get(1)!;
  const oldVector = (await catalog.vectors.vectorsOf([1])).get(1)!.vector;
  await register(catalog, [{ path: victim.path, format: victim.format, mtimeMs: victim.mtimeMs, size: 2 }]);
  const replacement = randomUnit(99999);
  await catalog.embedQueue().commit([{ id: 1, size: 1, mtimeMs: 1, vector: replacement, width: 1, height: 1, contentHash: '' }], []);
  const hits = await searchVectors(catalog.vectors, open(), oldVector, 5, VIA_INDEX);
  const entry = hits.find((h) => h.id === 1);
  if (entry) assert.equal(entry.score, dot(oldVector, replacement));
  assert.equal((await searchVectors(catalog.vectors, open(), replacement, 1, VIA_INDEX))[0].id, 1);
});

test('refreshing adds only the new vectors; a damaged manifest falls back to exact search', async (t) => {
  const { catalog, indexDir, build, open } = await libraryWith(t, 300);
  const first = await build();
  assert.equal(first.refreshed, false);
  await addImages(catalog, 300, 40, randomUnit);
  const second = await build();
  assert.deepEqual([second.refreshed, second.added, second.manifest.count], [true, 40, 340]);

  writeFileSync(join(indexDir, 'manifest.json'), '{ not json');
  assert.equal(open(), null);
  const q = randomUnit(4242);
  assert.deepEqual(
    (await searchVectors(catalog.vectors, null, q, 5)).map((h) => h.id),
    await bruteForce(catalog, q, 5),
  );
});
