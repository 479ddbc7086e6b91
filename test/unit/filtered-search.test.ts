// Filtered search keeps K results through the ANN index; the catalogue resolves
// filters in SQL, stores EXIF facts, and migrates a version-1 catalogue.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { openCatalog } from '../../src/catalog/open-catalog.js';
import { SCHEMA_V1 } from '../../src/catalog/sqlite/schema.js';
import { AnnIndex, buildIndex } from '../../src/index/ann-index.js';
import { readExif } from '../../src/media/exif.js';
import { parseFilter, CLI_FILTER_NAMES } from '../../src/search/search-filter.js';
import { searchVectors } from '../../src/search/vector-search.js';
import { randomUnitVector, tempDir } from '../support.js';
import { bruteForce, register, testLibrary, TEST_MODEL } from '../catalog-fixture.js';

const DIMS = 32;

const randomUnit = (seed: number): Float32Array => randomUnitVector(seed, DIMS);

/** `count` images: even ids under /a, odd under /b; widths 100 + id. */
async function library(t: TestContext, count: number) {
  const lib = await testLibrary(t, DIMS);
  const files = Array.from({ length: count }, (_, i) => ({
    path: `/${(i + 1) % 2 ? 'b' : 'a'}/${i + 1}.jpg`,
    size: 1,
    mtimeMs: 1,
    format: 'jpg',
  }));
  await register(lib.catalog, files);
  const queue = lib.catalog.embedQueue();
  const pending = await queue.claim(count + 1);
  await queue.commit(
    pending.map((r) => ({
      id: r.id,
      size: 1,
      mtimeMs: 1,
      vector: randomUnit(r.id),
      width: 100 + r.id,
      height: 50,
      contentHash: `h${r.id}`,
    })),
    [],
  );
  return lib;
}

test('a filter resolves to ids in SQL: folder, glob, width, format', async (t) => {
  const { catalog } = await library(t, 40);
  const ids = (raw: Parameters<typeof parseFilter>[0]) => catalog.images.matchingIds(parseFilter(raw, CLI_FILTER_NAMES)!);
  assert.deepEqual(
    await ids({ path: '/a' }),
    Array.from({ length: 20 }, (_, i) => 2 * (i + 1)),
  );
  assert.deepEqual(await ids({ path: '/b/1*.jpg' }), [1, 11, 13, 15, 17, 19]);
  assert.deepEqual(await ids({ path: '/a', minWidth: '135' }), [36, 38, 40]);
  assert.deepEqual(await ids({ minHeight: '51' }), []);
  assert.deepEqual(await ids({ format: 'png' }), []);
  assert.equal((await ids({ format: 'jpeg' })).length, 40);
  // No EXIF here: dates fall back to the file time (1 ms after the epoch).
  assert.equal((await ids({ before: '1971' })).length, 40);
  assert.equal((await ids({ after: '1971' })).length, 0);
});

test('through the index, a selective filter still returns k results, the same as exact search', async (t) => {
  const { catalog, indexDir, identity } = await library(t, 3000);
  await buildIndex(indexDir, identity, (from) => catalog.vectors.readForIndex(from));
  const index = AnnIndex.open(indexDir, identity)!;
  // 1 in 20 images: the index's first candidates hold about one of them.
  const accept = new Set(Array.from({ length: 150 }, (_, i) => 20 * i + 7));
  let agree = 0;
  for (let i = 0; i < 10; i++) {
    const q = randomUnit(31337 + i);
    const hits = await searchVectors(catalog.vectors, index, q, 10, { accept, exactLimit: 0 });
    assert.equal(hits.length, 10);
    assert.ok(hits.every((h) => accept.has(h.id)));
    const truth = await bruteForce(catalog, q, 10, accept);
    agree += hits.filter((h) => truth.includes(h.id)).length;
    // Small sets are scored exactly.
    assert.deepEqual(
      (await searchVectors(catalog.vectors, index, q, 10, { accept })).map((h) => h.id),
      truth,
    );
  }
  assert.ok(agree / 100 >= 0.9, `filtered recall@10 ${agree / 100}`);
  // An empty set returns nothing; a set smaller than k returns all of it.
  assert.deepEqual(await searchVectors(catalog.vectors, index, randomUnit(1), 5, { accept: new Set(), exactLimit: 0 }), []);
  assert.equal((await searchVectors(catalog.vectors, index, randomUnit(1), 5, { accept: new Set([3, 4]), exactLimit: 0 })).length, 2);
});

test('readExif reads date, camera, orientation and GPS, and never throws', async () => {
  const jpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#c00' } })
    .withExif({
      IFD0: { Make: 'PicsiftCam', Model: 'Model 7' },
      IFD2: { DateTimeOriginal: '2021:06:05 14:03:09' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 2400/100', GPSLongitudeRef: 'E', GPSLongitude: '2/1 21/1 300/100' },
    })
    .withMetadata({ orientation: 6 })
    .jpeg()
    .toBuffer();
  const facts = await readExif(jpeg);
  assert.equal(facts.takenAt, '2021-06-05T14:03:09');
  assert.equal(facts.cameraMake, 'PicsiftCam');
  assert.equal(facts.cameraModel, 'Model 7');
  assert.equal(facts.orientation, 6);
  assert.ok(Math.abs(facts.gpsLat! - 48.85667) < 1e-3, `lat ${facts.gpsLat}`);
  assert.ok(Math.abs(facts.gpsLon! - 2.35083) < 1e-3, `lon ${facts.gpsLon}`);
  const none = { takenAt: null, takenOffset: null, cameraMake: null, cameraModel: null, orientation: null, gpsLat: null, gpsLon: null };
  const plain = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#0c0' } })
    .png()
    .toBuffer();
  assert.deepEqual(await readExif(plain), none);
  assert.deepEqual(await readExif(Buffer.from('not an image at all')), none);
  assert.deepEqual(await readExif(Buffer.concat([jpeg.subarray(0, 40), Buffer.alloc(30, 0xff)])), none);
});

test('a version-1 catalogue is migrated in place; EXIF facts are stored, cleared on change and copied for identical content', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'catalog.sqlite');
  const old = new Database(path);
  old.exec(SCHEMA_V1);
  old.pragma('user_version = 1');
  old.prepare(`INSERT INTO images (path, size, mtime_ms, format, registered_at) VALUES ('/old.jpg', 1, 1, 'jpg', 1)`).run();
  old.close();

  const catalog = await openCatalog({ libraryDir: dir }, { mustExist: true });
  t.after(() => catalog.close());
  assert.equal((await catalog.images.get([1])).get(1)?.path, '/old.jpg');
  await catalog.models.claimModel(TEST_MODEL(DIMS));
  await register(catalog, [{ path: '/copy.jpg', size: 1, mtimeMs: 1, format: 'jpg' }]);
  const exif = {
    takenAt: '2021-06-05T14:03:09',
    takenOffset: '+02:00',
    cameraMake: 'PicsiftCam',
    cameraModel: 'Model 7',
    orientation: 6,
    gpsLat: 1.5,
    gpsLon: -2.5,
  };
  const vector = randomUnit(5);
  const queue = catalog.embedQueue();
  await queue.commit([{ id: 1, size: 1, mtimeMs: 1, vector, width: 8, height: 8, contentHash: 'same', exif }], []);
  // A reused vector (identical content) carries no EXIF of its own: it gets the original's.
  await queue.commit([{ id: 2, size: 1, mtimeMs: 1, vector, width: 8, height: 8, contentHash: 'same' }], []);
  assert.deepEqual((await catalog.images.get([1])).get(1)?.exif, exif);
  assert.deepEqual((await catalog.images.get([2])).get(2)?.exif, exif);
  assert.deepEqual(
    await catalog.images.matchingIds(parseFilter({ camera: 'model 7', after: '2021-06-05', before: '2021-06-06' }, CLI_FILTER_NAMES)!),
    [1, 2],
  );
  assert.deepEqual(await catalog.images.matchingIds(parseFilter({ after: '2021-06-05T14:04' }, CLI_FILTER_NAMES)!), []);
  assert.deepEqual(await catalog.images.identicalContentGroups(), [[1, 2]]);

  await register(catalog, [{ path: '/old.jpg', size: 2, mtimeMs: 2, format: 'jpg' }]);
  assert.equal((await catalog.images.get([1])).get(1)?.exif?.cameraMake, null);
});
