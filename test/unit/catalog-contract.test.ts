// One contract, two backends: every behaviour the ports promise (src/catalog/ports.ts)
// is checked against the SQLite library file and against a real PostgreSQL
// database, through openCatalog() and the ports only. A last group runs the same
// data through both and compares: filters select the same images, and a
// catalogue copied between backends (picsift migrate's readRows/writeRows) comes
// back bit for bit.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { openCatalog, type CatalogTarget } from '../../src/catalog/open-catalog.js';
import type { Catalog, LockMode } from '../../src/catalog/ports.js';
import {
  CatalogBusyError,
  ModelMismatchError,
  NO_EXIF,
  SpaceIncompleteError,
  SpaceStateError,
  type CatalogRow,
  type EmbeddedImage,
  type ExifFacts,
  type ScannedFile,
  type SearchFilter,
} from '../../src/catalog/types.js';
import { PostgresServer } from '../postgres-server.js';

let server: PostgresServer;
before(async () => {
  server = await PostgresServer.start();
});
after(async () => {
  await server?.dispose();
});

interface Backend {
  name: 'sqlite' | 'postgres';
  /** Where a fresh, empty catalogue lives. */
  target(t: TestContext): Promise<CatalogTarget>;
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'picsift-contract-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const BACKENDS: Backend[] = [
  { name: 'sqlite', target: async (t) => ({ libraryDir: tempDir(t) }) },
  { name: 'postgres', target: async (t) => ({ url: await server.createDatabase(), libraryDir: tempDir(t) }) },
];

/** Opens a catalogue at `target`, closed when the test ends. */
async function open(t: TestContext, target: CatalogTarget): Promise<Catalog> {
  const catalog = await openCatalog(target);
  t.after(() => catalog.close());
  return catalog;
}

async function fresh(t: TestContext, backend: Backend, dims = 3): Promise<{ catalog: Catalog; target: CatalogTarget }> {
  const target = await backend.target(t);
  const catalog = await open(t, target);
  await catalog.models.claimModel({ id: 'test-model', dtype: 'fp32', dims });
  return { catalog, target };
}

const T0 = 1_700_000_000_000;
const file = (path: string, size = 100, mtimeMs = T0, format = 'jpg'): ScannedFile => ({ path, size, mtimeMs, format });
const unit = (...v: number[]): Float32Array => {
  const n = Math.hypot(...v);
  return Float32Array.from(v.map((x) => x / n));
};
const bytes = (v: Float32Array): string => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');

async function register(catalog: Catalog, files: ScannedFile[]) {
  return catalog.scans.registerFiles(files, await catalog.scans.beginScan());
}

type Outcome = { vector: Float32Array; hash?: string; exif?: ExifFacts | null; width?: number; height?: number } | { fail: string };

/** Claims every pending image and commits what `outcomes` says for its path (the rest stay pending). */
async function embed(catalog: Catalog, outcomes: Record<string, Outcome>) {
  const queue = catalog.embedQueue();
  try {
    const embedded: EmbeddedImage[] = [];
    const failed: { id: number; reason: string }[] = [];
    for (let batch = await queue.claim(100); batch.length > 0; batch = await queue.claim(100)) {
      for (const r of batch) {
        const o = outcomes[r.path];
        if (!o) continue;
        if ('fail' in o) failed.push({ id: r.id, reason: o.fail });
        else {
          embedded.push({
            id: r.id,
            size: r.size,
            mtimeMs: r.mtimeMs,
            vector: o.vector,
            width: o.width ?? 640,
            height: o.height ?? 480,
            contentHash: o.hash ?? `hash of ${r.path}`,
            ...(o.exif === null ? {} : { exif: o.exif ?? NO_EXIF }),
          });
        }
      }
    }
    return await queue.commit(embedded, failed);
  } finally {
    await queue.close();
  }
}

async function idOf(catalog: Catalog, path: string): Promise<number> {
  const rows = await catalog.maintenance.readRows(0, 1_000_000);
  const row = rows.find((r) => r.path === path);
  assert.ok(row, `no image ${path}`);
  return row.id;
}

async function statusOf(catalog: Catalog, path: string): Promise<string> {
  const id = await idOf(catalog, path);
  return (await catalog.images.get([id])).get(id)!.status;
}

async function allPages<T>(pages: AsyncIterable<T[]>): Promise<T[][]> {
  const out: T[][] = [];
  for await (const page of pages) out.push(page);
  return out;
}

for (const backend of BACKENDS) {
  describe(`catalogue contract: ${backend.name}`, () => {
    test('registering is idempotent, and a changed file goes back to pending without its old vector', async (t) => {
      const { catalog } = await fresh(t, backend);
      assert.deepEqual(await register(catalog, [file('/p/a.jpg'), file('/p/b.jpg')]), { added: 2, skipped: 0, changed: 0, unchanged: 0 });
      assert.deepEqual(await register(catalog, [file('/p/a.jpg'), file('/p/b.jpg')]), { added: 0, skipped: 0, changed: 0, unchanged: 2 });
      assert.deepEqual(await embed(catalog, { '/p/a.jpg': { vector: unit(1, 0, 0) }, '/p/b.jpg': { fail: 'broken' } }), {
        embedded: 1,
        failed: 1,
        lost: 0,
      });
      assert.deepEqual(await catalog.images.counts(), { images: 2, embedded: 1, pending: 0, failed: 1 });

      assert.deepEqual(await register(catalog, [file('/p/a.jpg', 101)]), { added: 0, skipped: 0, changed: 1, unchanged: 0 });
      const a = await idOf(catalog, '/p/a.jpg');
      assert.deepEqual(await catalog.images.counts(), { images: 2, embedded: 0, pending: 1, failed: 1 });
      assert.equal((await catalog.vectors.vectorsOf([a])).size, 0, 'the stale vector is gone');
      const record = (await catalog.images.get([a])).get(a)!;
      assert.equal(record.contentHash, null);
      assert.deepEqual(record.exif, NO_EXIF);
      const known = await catalog.scans.knownFiles(['/p/a.jpg', '/p/none.jpg']);
      assert.deepEqual([...known.entries()], [['/p/a.jpg', { size: 101, mtimeMs: T0, status: 'pending', contentHash: null }]]);
    });

    test('a touched file with identical content keeps its vector; a file that is no longer an image is skipped', async (t) => {
      const { catalog } = await fresh(t, backend);
      await register(catalog, [file('/p/a.jpg'), file('/p/b.jpg')]);
      await embed(catalog, { '/p/a.jpg': { vector: unit(1, 2, 3), hash: 'ha' }, '/p/b.jpg': { vector: unit(3, 2, 1), hash: 'hb' } });
      const a = await idOf(catalog, '/p/a.jpg');
      const touched = { ...file('/p/a.jpg', 100, T0 + 5000), contentHash: 'ha' };
      assert.deepEqual(await register(catalog, [touched]), { added: 0, skipped: 0, changed: 0, unchanged: 1 });
      assert.equal(await statusOf(catalog, '/p/a.jpg'), 'embedded');
      assert.equal(bytes((await catalog.vectors.vectorsOf([a])).get(a)!.vector), bytes(unit(1, 2, 3)));
      assert.equal((await catalog.scans.knownFiles(['/p/a.jpg'])).get('/p/a.jpg')!.mtimeMs, T0 + 5000);

      const notImage: ScannedFile = { ...file('/p/b.jpg', 7, T0, 'none'), notImage: 'not an image: text' };
      assert.deepEqual(await register(catalog, [notImage, { ...file('/p/c.txt', 1, T0, 'none'), notImage: 'empty file' }]), {
        added: 0,
        skipped: 2,
        changed: 0,
        unchanged: 0,
      });
      const b = await idOf(catalog, '/p/b.jpg');
      assert.equal((await catalog.vectors.vectorsOf([b])).size, 0);
      assert.deepEqual(await catalog.images.failures(), {
        failed: [],
        skipped: [
          { id: b, path: '/p/b.jpg', reason: 'not an image: text' },
          { id: await idOf(catalog, '/p/c.txt'), path: '/p/c.txt', reason: 'empty file' },
        ],
      });
      assert.deepEqual(await catalog.images.counts(), { images: 1, embedded: 1, pending: 0, failed: 0 });
    });

    test('files a scan no longer sees are removed, and come back with their vector (or pending without one)', async (t) => {
      const { catalog } = await fresh(t, backend);
      await register(catalog, [file('/r/a.jpg'), file('/r/b.jpg'), file('/r0/c.jpg'), file('/r-x/d.jpg')]);
      await embed(catalog, { '/r/a.jpg': { vector: unit(1, 0, 0) }, '/r0/c.jpg': { vector: unit(0, 1, 0) } });
      const scan = await catalog.scans.beginScan();
      await catalog.scans.registerFiles([], scan);
      assert.equal(await catalog.scans.markUnseenRemoved('/r', scan), 2, 'a and b; not the siblings /r0 and /r-x');
      assert.equal(await statusOf(catalog, '/r/a.jpg'), 'removed');
      assert.equal(await statusOf(catalog, '/r0/c.jpg'), 'embedded');
      const a = await idOf(catalog, '/r/a.jpg');
      assert.equal((await catalog.vectors.vectorsOf([a])).size, 0, 'removed images are never search results');
      assert.deepEqual(await catalog.images.matchingIds({}), [await idOf(catalog, '/r0/c.jpg')]);
      assert.deepEqual(await catalog.images.counts(), { images: 2, embedded: 1, pending: 1, failed: 0 });

      assert.deepEqual(await register(catalog, [file('/r/a.jpg'), file('/r/b.jpg')]), { added: 0, skipped: 0, changed: 0, unchanged: 2 });
      assert.equal(await statusOf(catalog, '/r/a.jpg'), 'embedded');
      assert.equal(bytes((await catalog.vectors.vectorsOf([a])).get(a)!.vector), bytes(unit(1, 0, 0)));
      assert.equal(await statusOf(catalog, '/r/b.jpg'), 'pending');
    });

    test('claims come in id order; commit stores vectors and failures; a commit of images no longer pending is lost', async (t) => {
      const { catalog } = await fresh(t, backend);
      await register(
        catalog,
        ['/p/1.jpg', '/p/2.jpg', '/p/3.jpg', '/p/4.jpg', '/p/5.jpg'].map((p) => file(p)),
      );
      const queue = catalog.embedQueue();
      t.after(() => queue.close());
      assert.equal(await queue.pendingCount(), 5);
      const first = await queue.claim(2);
      const second = await queue.claim(2);
      const third = await queue.claim(2);
      assert.deepEqual(
        [...first, ...second, ...third].map((r) => r.path),
        ['/p/1.jpg', '/p/2.jpg', '/p/3.jpg', '/p/4.jpg', '/p/5.jpg'],
      );
      assert.ok(first[0].id < first[1].id && first[1].id < second[0].id);
      assert.deepEqual(await queue.claim(2), []);
      assert.equal(first[0].status, 'pending');

      const vector = (r: { id: number; size: number; mtimeMs: number }, v: Float32Array, hash: string): EmbeddedImage => ({
        id: r.id,
        size: r.size + 1,
        mtimeMs: r.mtimeMs + 1,
        vector: v,
        width: 40,
        height: 30,
        contentHash: hash,
        exif: NO_EXIF,
      });
      const outcome = await queue.commit(
        [vector(first[0], unit(1, 0, 0), 'h1'), vector(first[1], unit(0, 1, 0), 'h2')],
        [{ id: second[0].id, reason: 'corrupt JPEG' }],
      );
      assert.deepEqual(outcome, { embedded: 2, failed: 1, lost: 0 });
      const stored = (await catalog.images.get([first[0].id])).get(first[0].id)!;
      assert.deepEqual(
        {
          status: stored.status,
          size: stored.size,
          mtimeMs: stored.mtimeMs,
          width: stored.width,
          hash: stored.contentHash,
          error: stored.error,
        },
        { status: 'embedded', size: 101, mtimeMs: T0 + 1, width: 40, hash: 'h1', error: null },
      );
      assert.deepEqual(await catalog.images.counts(), { images: 5, embedded: 2, pending: 2, failed: 1 });
      assert.equal(await queue.pendingCount(), 2);
      assert.deepEqual((await catalog.images.failures()).failed, [{ id: second[0].id, path: '/p/3.jpg', reason: 'corrupt JPEG' }]);

      // The same images again: they are no longer pending, so nothing is written twice.
      assert.deepEqual(await queue.commit([vector(first[0], unit(0, 0, 1), 'h9')], [{ id: second[0].id, reason: 'again' }]), {
        embedded: 0,
        failed: 0,
        lost: 2,
      });
      assert.equal(bytes((await catalog.vectors.vectorsOf([first[0].id])).get(first[0].id)!.vector), bytes(unit(1, 0, 0)));

      assert.equal(await queue.retryFailed(), 1);
      assert.deepEqual(await catalog.images.counts(), { images: 5, embedded: 2, pending: 3, failed: 0 });
      // Closing gives back the claims not committed (4 and 5), so the next session gets them at once.
      await queue.close();
      const again = catalog.embedQueue();
      t.after(() => again.close());
      assert.deepEqual(
        (await again.claim(10)).map((r) => [r.path, r.error]),
        [
          ['/p/3.jpg', null],
          ['/p/4.jpg', null],
          ['/p/5.jpg', null],
        ],
      );
    });

    test('a claimed image whose file a re-scan finds changed is lost to the worker embedding the old content', async (t) => {
      const { catalog } = await fresh(t, backend);
      await register(catalog, [file('/p/a.jpg')]);
      const queue = catalog.embedQueue();
      t.after(() => queue.close());
      const [claimed] = await queue.claim(1);
      assert.deepEqual(await register(catalog, [file('/p/a.jpg', 555)]), { added: 0, skipped: 0, changed: 1, unchanged: 0 });
      const old = { id: claimed.id, size: 100, mtimeMs: T0, vector: unit(1, 0, 0), width: 1, height: 1, contentHash: 'old' };
      assert.deepEqual(await queue.commit([old], []), { embedded: 0, failed: 0, lost: 1 });
      assert.equal(await statusOf(catalog, '/p/a.jpg'), 'pending');
      const [again] = await queue.claim(1);
      assert.equal(again?.size, 555, 'the new content is claimed afresh');
    });

    test('identical content reuses a stored vector, and the image that reuses it copies its EXIF', async (t) => {
      const { catalog } = await fresh(t, backend);
      await register(catalog, [file('/p/a.jpg'), file('/p/b.jpg'), file('/p/copy-of-a.jpg')]);
      const exif: ExifFacts = {
        takenAt: '2021-06-05T14:03:00',
        takenOffset: '+02:00',
        cameraMake: 'Canon',
        cameraModel: 'EOS 7D',
        orientation: 6,
        gpsLat: 48.858370000000001,
        gpsLon: -2.294481,
      };
      await embed(catalog, {
        '/p/a.jpg': { vector: unit(1, 2, 2), hash: 'same', exif, width: 4000, height: 3000 },
        '/p/b.jpg': { vector: unit(2, 1, 2), hash: 'other' },
      });
      const queue = catalog.embedQueue();
      t.after(() => queue.close());
      const reuse = await queue.vectorForContent('same');
      assert.ok(reuse);
      assert.deepEqual(
        { bytes: bytes(reuse.vector), width: reuse.width, height: reuse.height },
        { bytes: bytes(unit(1, 2, 2)), width: 4000, height: 3000 },
      );
      assert.equal(await queue.vectorForContent('unknown'), null);

      const [copy] = await queue.claim(1);
      assert.equal(copy.path, '/p/copy-of-a.jpg');
      await queue.commit(
        [{ id: copy.id, size: 1, mtimeMs: 2, vector: reuse.vector, width: reuse.width, height: reuse.height, contentHash: 'same' }],
        [],
      );
      assert.deepEqual((await catalog.images.get([copy.id])).get(copy.id)!.exif, exif);
      assert.deepEqual(await catalog.images.identicalContentGroups(), [[await idOf(catalog, '/p/a.jpg'), copy.id]]);
    });

    test('filters: glob, folder, dates, camera, size and format', async (t) => {
      const { catalog } = await fresh(t, backend);
      const paths = [
        '/photos/a.jpg',
        '/photos/b.jpg',
        '/photos/c.png',
        '/photos/d.JPG',
        '/photos/sub/e.jpg',
        '/photos0/f.jpg',
        '/photos-x/g.jpg',
      ];
      await register(
        catalog,
        paths.map((p, i) => file(p, 100, Date.UTC(2020, i, 15, 12), p.endsWith('png') ? 'png' : 'jpg')),
      );
      const exif = (takenAt: string | null, cameraMake: string | null, cameraModel: string | null): ExifFacts => ({
        ...NO_EXIF,
        takenAt,
        cameraMake,
        cameraModel,
      });
      await embed(catalog, {
        '/photos/a.jpg': { vector: unit(1, 0, 0), exif: exif('2019-12-31T23:59:59', 'Canon', 'EOS 7D'), width: 4000, height: 3000 },
        '/photos/b.jpg': {
          vector: unit(0, 1, 0),
          exif: exif('2021-06-05T14:03:00', 'NIKON CORPORATION', 'NIKON D750'),
          width: 1000,
          height: 2000,
        },
        '/photos/c.png': { vector: unit(0, 0, 1), width: 2000, height: 1000 },
        '/photos/d.JPG': { vector: unit(1, 1, 0) },
        '/photos/sub/e.jpg': { vector: unit(1, 0, 1), exif: exif(null, 'canon', 'PowerShot 50% off_') },
        '/photos0/f.jpg': { vector: unit(0, 1, 1) },
        '/photos-x/g.jpg': { vector: unit(1, 1, 1) },
      });
      const ids = new Map<string, number>();
      for (const p of paths) ids.set(p, await idOf(catalog, p));
      const match = async (filter: SearchFilter): Promise<string[]> => {
        const byId = new Map([...ids].map(([p, id]) => [id, p]));
        return (await catalog.images.matchingIds(filter)).map((id) => byId.get(id)!);
      };
      assert.deepEqual(await match({}), paths);
      assert.deepEqual(await match({ path: { glob: '*.jpg' } }), [
        '/photos/a.jpg',
        '/photos/b.jpg',
        '/photos/sub/e.jpg',
        '/photos0/f.jpg',
        '/photos-x/g.jpg',
      ]);
      assert.deepEqual(
        await match({ path: { glob: '/photos/*.jpg' } }),
        ['/photos/a.jpg', '/photos/b.jpg', '/photos/sub/e.jpg'],
        '* crosses /',
      );
      assert.deepEqual(await match({ path: { glob: '/photos/?.*' } }), [
        '/photos/a.jpg',
        '/photos/b.jpg',
        '/photos/c.png',
        '/photos/d.JPG',
      ]);
      assert.deepEqual(await match({ path: { glob: '/photos/[a-c].*' } }), ['/photos/a.jpg', '/photos/b.jpg', '/photos/c.png']);
      assert.deepEqual(await match({ path: { glob: '/photos/[^a-c].*' } }), ['/photos/d.JPG']);
      assert.deepEqual(await match({ path: { glob: '*.JPG' } }), ['/photos/d.JPG'], 'case-sensitive');
      assert.deepEqual(await match({ path: { glob: '/photos?x/*' } }), ['/photos-x/g.jpg']);
      assert.deepEqual(await match({ path: { glob: '/photos/a.jp' } }), [], 'anchored');
      assert.deepEqual(await match({ path: { glob: '/photos/[a' } }), [], 'an unclosed class matches nothing');
      assert.deepEqual(await match({ path: { folder: '/photos' } }), [
        '/photos/a.jpg',
        '/photos/b.jpg',
        '/photos/c.png',
        '/photos/d.JPG',
        '/photos/sub/e.jpg',
      ]);
      assert.deepEqual(await match({ path: { folder: '/photos/sub' } }), ['/photos/sub/e.jpg']);
      assert.deepEqual(await match({ path: { folder: '/photos/a.jpg' } }), ['/photos/a.jpg'], 'a file is its own folder');
      assert.deepEqual((await match({ path: { folder: '/' } })).length, paths.length);
      // Dates: EXIF when present, else the mtime (mid-month at noon UTC: the same date in every zone).
      assert.deepEqual(await match({ after: '2020-01-01T00:00:00', before: '2020-05-01T00:00:00' }), ['/photos/c.png', '/photos/d.JPG']);
      assert.deepEqual(await match({ before: '2020-01-01T00:00:00' }), ['/photos/a.jpg']);
      assert.deepEqual(await match({ after: '2021-06-05T14:03:00' }), ['/photos/b.jpg'], 'after includes its moment');
      assert.deepEqual(await match({ after: '2021-06-05T14:03:01' }), []);
      assert.deepEqual(await match({ camera: 'canon' }), ['/photos/a.jpg', '/photos/sub/e.jpg']);
      assert.deepEqual(await match({ camera: 'NIKON d750' }), ['/photos/b.jpg']);
      assert.deepEqual(await match({ camera: '50% off_' }), ['/photos/sub/e.jpg'], '% and _ are plain characters');
      assert.deepEqual(await match({ minWidth: 2000 }), ['/photos/a.jpg', '/photos/c.png']);
      assert.deepEqual(await match({ minWidth: 1000, minHeight: 2000 }), ['/photos/a.jpg', '/photos/b.jpg']);
      assert.deepEqual(await match({ minHeight: 3000 }), ['/photos/a.jpg']);
      assert.deepEqual(await match({ formats: ['png'] }), ['/photos/c.png']);
      assert.deepEqual(await match({ formats: ['png', 'jpg'], path: { folder: '/photos' }, camera: 'eos' }), ['/photos/a.jpg']);
    });

    test('identicalContentGroups: embedded images sharing a content hash, ids ascending', async (t) => {
      const { catalog } = await fresh(t, backend);
      await register(
        catalog,
        ['/a', '/b', '/c', '/d', '/e', '/f'].map((p) => file(p)),
      );
      await embed(catalog, {
        '/a': { vector: unit(1, 0, 0), hash: 'x' },
        '/b': { vector: unit(1, 0, 0), hash: 'y' },
        '/c': { vector: unit(1, 0, 0), hash: 'x' },
        '/d': { vector: unit(1, 0, 0), hash: 'y' },
        '/e': { vector: unit(1, 0, 0), hash: 'z' },
        '/f': { fail: 'broken' },
      });
      const [a, b, c, d] = await Promise.all(['/a', '/b', '/c', '/d'].map((p) => idOf(catalog, p)));
      assert.deepEqual(await catalog.images.identicalContentGroups(), [
        [a, c],
        [b, d],
      ]);
    });

    test('vectors come back bit for bit: subnormals, -0, extremes, NaN payloads', async (t) => {
      const bits = [
        0x80000000, 0x00000001, 0x007fffff, 0x00800000, 0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000, 0x7fc00001, 0x3f800000, 0x3eaaaaab,
      ];
      const vector = new Float32Array(new Uint32Array(bits).buffer);
      const { catalog } = await fresh(t, backend, bits.length);
      await register(catalog, [file('/v.jpg')]);
      await embed(catalog, { '/v.jpg': { vector, hash: 'v' } });
      const id = await idOf(catalog, '/v.jpg');
      const expected = bytes(vector);
      assert.equal(bytes((await catalog.vectors.vectorsOf([id])).get(id)!.vector), expected);
      assert.equal(bytes((await allPages(catalog.vectors.tail(0)))[0][0].vector), expected);
      assert.equal(bytes((await allPages((await catalog.vectors.readForIndex(0)).pages))[0][0].vector), expected);
      assert.equal(bytes((await catalog.maintenance.readRows(0, 10))[0].vectors[0].vector), expected);
      assert.equal(bytes((await allPages(catalog.maintenance.exportImages()))[0][0].vector!), expected);
      const queue = catalog.embedQueue();
      t.after(() => queue.close());
      assert.equal(bytes((await queue.vectorForContent('v'))!.vector), expected);
    });

    test('positions: readForIndex reads up to a watermark, and tail(watermark) holds everything committed later', async (t) => {
      const { catalog } = await fresh(t, backend);
      await register(
        catalog,
        ['/a', '/b', '/c', '/d', '/gone'].map((p) => file(p)),
      );
      await embed(catalog, { '/a': { vector: unit(1, 0, 0) }, '/gone': { vector: unit(1, 1, 1) } });
      await embed(catalog, { '/b': { vector: unit(0, 1, 0) }, '/c': { vector: unit(0, 0, 1) } });
      const [a, b, c, d, gone] = await Promise.all(['/a', '/b', '/c', '/d', '/gone'].map((p) => idOf(catalog, p)));
      const scan = await catalog.scans.beginScan();
      await catalog.scans.registerFiles([file('/a'), file('/b'), file('/c'), file('/d')], scan);
      assert.equal(await catalog.scans.markUnseenRemoved('/', scan), 1);

      const first = await catalog.vectors.readForIndex(0);
      const read = (await allPages(first.pages)).flat();
      assert.deepEqual(
        read.map((v) => v.id),
        [a, b, c],
        'the removed image is left out',
      );
      const [pa, pb, pc] = read.map((v) => v.position);
      assert.ok(pa < pb && pb <= pc && pc < first.upTo, `positions ${pa} < ${pb} <= ${pc} < upTo ${first.upTo}`);
      assert.equal(await catalog.vectors.countBelow(first.upTo), 3);
      assert.equal(await catalog.vectors.countBelow(pb), 1);
      assert.deepEqual(await allPages(catalog.vectors.tail(first.upTo)), []);
      assert.equal(await catalog.vectors.hasEmbedded(), true);
      assert.deepEqual([...(await catalog.vectors.vectorsOf([a, gone, d])).keys()], [a]);

      // Later commits, and a re-embedded image, land at or after the watermark.
      await embed(catalog, { '/d': { vector: unit(1, 1, 0) } });
      await register(catalog, [file('/b', 999)]);
      await embed(catalog, { '/b': { vector: unit(0, 1, 1) } });
      const later = (await allPages(catalog.vectors.tail(first.upTo))).flat();
      assert.deepEqual(later.map((v) => v.id).sort(), [b, d].sort());
      assert.ok(later.every((v) => v.position >= first.upTo));
      assert.equal(bytes(later.find((v) => v.id === b)!.vector), bytes(unit(0, 1, 1)));
      assert.equal(await catalog.vectors.countBelow(first.upTo), 2, 'b moved past the watermark');

      const second = await catalog.vectors.readForIndex(first.upTo);
      assert.deepEqual(
        (await allPages(second.pages))
          .flat()
          .map((v) => v.id)
          .sort(),
        [b, d].sort(),
      );
      assert.ok(second.upTo > Math.max(...later.map((v) => v.position)));
      assert.equal(await catalog.vectors.countBelow(second.upTo), 4);
      // tailCount: what tail(from) holds, counted no further than the limit.
      assert.equal(await catalog.vectors.tailCount(first.upTo, 100), 2);
      assert.equal(await catalog.vectors.tailCount(first.upTo, 1), 1);
      assert.equal(await catalog.vectors.tailCount(second.upTo, 100), 0);
      assert.equal(await catalog.vectors.tailCount(0, 100), 4, 'the removed image is not counted');

      // Pages of one: every vector once, in position order.
      const paged = await allPages(catalog.vectors.tail(0, 1));
      assert.ok(paged.every((p) => p.length === 1));
      assert.deepEqual(
        paged.flat().map((v) => v.id),
        (await allPages(catalog.vectors.tail(0))).flat().map((v) => v.id),
      );
      assert.deepEqual(
        paged
          .flat()
          .map((v) => v.id)
          .sort(),
        [a, b, c, d].sort(),
      );
      const positions = paged.flat().map((v) => v.position);
      assert.deepEqual(
        positions,
        [...positions].sort((x, y) => x - y),
      );
      const pagedRead = await catalog.vectors.readForIndex(0, 1);
      assert.deepEqual(
        (await allPages(pagedRead.pages)).flat().map((v) => v.id),
        paged.flat().map((v) => v.id),
      );

      // A read abandoned after its first page lets go of what it held.
      const abandoned = await catalog.vectors.readForIndex(0, 1);
      for await (const page of abandoned.pages) {
        assert.equal(page.length, 1);
        break;
      }
      // And one never iterated is let go when the catalogue closes (t.after).
      await catalog.vectors.readForIndex(0, 1);
    });

    test('a removed image that comes back is in the next tail, so an index built meanwhile gets it', async (t) => {
      const { catalog } = await fresh(t, backend);
      await register(catalog, [file('/r/a'), file('/r/b')]);
      await embed(catalog, { '/r/a': { vector: unit(1, 0, 0) }, '/r/b': { vector: unit(0, 1, 0) } });
      const scan = await catalog.scans.beginScan();
      await catalog.scans.registerFiles([file('/r/b')], scan);
      await catalog.scans.markUnseenRemoved('/r', scan);
      const index = await catalog.vectors.readForIndex(0);
      const a = await idOf(catalog, '/r/a');
      assert.ok(!(await allPages(index.pages)).flat().some((v) => v.id === a), 'an index built now lacks a');
      await register(catalog, [file('/r/a')]);
      assert.ok(
        (await allPages(catalog.vectors.tail(index.upTo))).flat().some((v) => v.id === a),
        'a is in the tail',
      );
    });

    test('verify finds every kind of problem, and repair drops what is wrong and re-queues its images', async (t) => {
      const { catalog } = await fresh(t, backend, 2);
      const rows: CatalogRow[] = [
        row(1, 'embedded', [{ space: 1, vector: unit(3, 4) }]),
        row(2, 'embedded', []),
        row(3, 'embedded', [{ space: 1, vector: unit(1, 2, 2) }]),
        row(4, 'embedded', [{ space: 1, vector: Float32Array.of(1, 1) }]),
        row(5, 'pending', [{ space: 1, vector: unit(1, 0) }]),
        row(6, 'embedded', [
          { space: 1, vector: unit(0, 1) },
          { space: 9, vector: unit(1, 0) },
        ]),
        row(7, 'removed', [{ space: 1, vector: unit(1, 1) }]),
      ];
      assert.equal(await catalog.maintenance.writeRows(rows), 7);
      const problems = await catalog.maintenance.verify();
      const summary = problems.map((p) => `${p.kind} ${p.imageId} ${p.space ?? '-'} ${p.path}`).sort();
      assert.deepEqual(summary, [
        'embedded-without-vector 2 - /lib/2.jpg',
        'vector-not-unit 4 1 /lib/4.jpg',
        'vector-of-unknown-space 6 9 /lib/6.jpg',
        'vector-without-embedded-image 5 1 /lib/5.jpg',
        'vector-wrong-dims 3 1 /lib/3.jpg',
      ]);
      assert.ok(problems.every((p) => p.detail.length > 0));
      assert.deepEqual(await catalog.maintenance.integrityCheck(false), []);
      assert.deepEqual(await catalog.maintenance.integrityCheck(true), []);

      await catalog.maintenance.repair(problems);
      assert.deepEqual(await catalog.maintenance.verify(), []);
      const status = await catalog.images.get([1, 2, 3, 4, 5, 6, 7]);
      assert.deepEqual(
        [...status.values()].sort((x, y) => x.id - y.id).map((r) => r.status),
        ['embedded', 'pending', 'pending', 'pending', 'pending', 'embedded', 'removed'],
      );
      assert.deepEqual([...(await catalog.vectors.vectorsOf([1, 2, 3, 4, 5, 6])).keys()].sort(), [1, 6]);
    });

    test('forget deletes a folder and its vectors, not its siblings', async (t) => {
      const { catalog } = await fresh(t, backend);
      await register(
        catalog,
        ['/r', '/r/a.jpg', '/r/sub/b.jpg', '/r0/c.jpg', '/r-x/d.jpg', '/q/e.jpg'].map((p) => file(p)),
      );
      await embed(catalog, { '/r/a.jpg': { vector: unit(1, 0, 0) }, '/r0/c.jpg': { vector: unit(0, 1, 0) } });
      const a = await idOf(catalog, '/r/a.jpg');
      assert.equal((await catalog.maintenance.forget('/r')).length, 3);
      assert.deepEqual(
        (await catalog.maintenance.readRows(0, 100)).map((r) => r.path),
        ['/r0/c.jpg', '/r-x/d.jpg', '/q/e.jpg'],
      );
      assert.equal((await catalog.images.get([a])).size, 0);
      assert.deepEqual((await allPages(catalog.vectors.tail(0))).flat().length, 1);
      assert.deepEqual(await catalog.maintenance.verify(), []);
    });

    test('scanned roots are recorded once each, listed sorted, and dropped by forget', async (t) => {
      const { catalog } = await fresh(t, backend);
      assert.deepEqual(await catalog.scans.roots(), []);
      await catalog.scans.recordRoots(['/photos/b', '/photos/a', '/r', '/r/sub', '/r0', '/x y/ü']);
      await catalog.scans.recordRoots(['/photos/a']);
      assert.deepEqual(await catalog.scans.roots(), ['/photos/a', '/photos/b', '/r', '/r/sub', '/r0', '/x y/ü']);
      await catalog.maintenance.forget('/r');
      assert.deepEqual(await catalog.scans.roots(), ['/photos/a', '/photos/b', '/r0', '/x y/ü'], 'the root and those under it, not /r0');
      const meta = (await catalog.maintenance.settings()).lastScan;
      assert.equal(typeof meta, 'number', 'roots live beside the settings without disturbing them');
    });

    test('importImages adds new paths only; exportImages pages through what is neither removed nor skipped', async (t) => {
      const { catalog } = await fresh(t, backend, 2);
      const imported = (path: string, vector: Float32Array | null) => ({
        path,
        size: 10,
        mtimeMs: T0 + 0.7,
        format: 'jpg',
        width: 20,
        height: 10,
        vector,
      });
      assert.deepEqual(
        await catalog.maintenance.importImages([
          imported('/i/a.jpg', unit(1, 2)),
          imported('/i/b.jpg', null),
          imported('/i/a.jpg', unit(2, 1)),
        ]),
        { embedded: 1, pending: 1, skipped: 1 },
      );
      assert.deepEqual(await catalog.maintenance.importImages([imported('/i/b.jpg', unit(1, 1))]), { embedded: 0, pending: 0, skipped: 1 });
      await register(catalog, [file('/i/c.jpg'), { ...file('/i/d.txt'), notImage: 'text' }]);
      assert.deepEqual(await catalog.maintenance.importImages([]), { embedded: 0, pending: 0, skipped: 0 });

      const pages = await allPages(catalog.maintenance.exportImages(2));
      assert.deepEqual(
        pages.map((p) => p.map((r) => [r.path, r.status, r.mtimeMs, r.vector ? bytes(r.vector) : null])),
        [
          [
            ['/i/a.jpg', 'embedded', T0, bytes(unit(1, 2))],
            ['/i/b.jpg', 'pending', T0, null],
          ],
          [['/i/c.jpg', 'pending', T0, null]],
        ],
      );
      assert.deepEqual(await catalog.maintenance.verify(), []);
    });

    test('the library keeps its model and refuses another', async (t) => {
      const target = await backend.target(t);
      const catalog = await open(t, target);
      assert.equal(await catalog.models.model(), null);
      const model = { id: 'Xenova/clip-vit-base-patch32', dtype: 'q8', dims: 512 };
      await catalog.models.claimModel(model);
      await catalog.models.claimModel({ ...model });
      assert.deepEqual(await catalog.models.model(), model);
      await assert.rejects(catalog.models.claimModel({ ...model, dtype: 'fp32' }), (err: Error) => {
        assert.ok(err instanceof ModelMismatchError);
        assert.match(err.message, /clip-vit-base-patch32 \(q8, 512-d\)/);
        return true;
      });
      const again = await open(t, target);
      assert.deepEqual(await again.models.model(), model);
      assert.deepEqual((await again.maintenance.settings()).spaces, [{ id: 1, model, state: 'active' }]);
    });

    test('vector spaces: a building space fills through its own queue, unseen by search, and switches in one step when complete', async (t) => {
      const { catalog } = await fresh(t, backend);
      const oldModel = { id: 'test-model', dtype: 'fp32', dims: 3 };
      const newModel = { id: 'new-model', dtype: 'q8', dims: 2 };
      await register(catalog, [file('/p/a.jpg'), file('/p/b.jpg'), file('/p/c.jpg'), file('/p/d.jpg')]);
      await embed(catalog, {
        '/p/a.jpg': { vector: unit(1, 0, 0) },
        '/p/b.jpg': { vector: unit(0, 1, 0) },
        '/p/c.jpg': { vector: unit(0, 0, 1) },
      });
      const [a, b, c, d] = await Promise.all(['/p/a.jpg', '/p/b.jpg', '/p/c.jpg', '/p/d.jpg'].map((p) => idOf(catalog, p)));

      await assert.rejects(
        catalog.models.beginSpace(oldModel),
        (err: Error) => err instanceof SpaceStateError && /already the library's model/.test(err.message),
      );
      const space = await catalog.models.beginSpace(newModel);
      assert.deepEqual(space, { id: 2, model: newModel, state: 'building' });
      assert.deepEqual(await catalog.models.beginSpace({ ...newModel }), space, 'an unfinished space is resumed');
      await assert.rejects(catalog.models.beginSpace({ id: 'third', dtype: 'fp32', dims: 4 }), (err: Error) => {
        assert.ok(err instanceof SpaceStateError);
        assert.match(err.message, /already being re-embedded with new-model \(q8, 2-d\)/);
        assert.match(err.message, /picsift reembed --model new-model --dtype q8/);
        return true;
      });
      assert.deepEqual(await catalog.models.spaces(), [
        { id: 1, model: oldModel, state: 'active' },
        { id: 2, model: newModel, state: 'building' },
      ]);
      assert.deepEqual(await catalog.models.spaceProgress(2), { embedded: 3, done: 0, failed: 0, missing: 3 });

      // A first run embeds a and fails b, then is killed before c.
      const first = catalog.spaceQueue(2);
      assert.equal(await first.pendingCount(), 3);
      const claimed = await first.claim(2);
      assert.deepEqual(
        claimed.map((r) => r.id),
        [a, b],
      );
      const as = (r: { id: number; size: number; mtimeMs: number }, vector: Float32Array): EmbeddedImage => ({
        id: r.id,
        size: r.size,
        mtimeMs: r.mtimeMs,
        vector,
        width: 1,
        height: 1,
        contentHash: `hash of /p/${r.id}`,
      });
      assert.deepEqual(await first.commit([as(claimed[0], unit(1, 1))], [{ id: b, reason: 'too odd for the new model' }]), {
        embedded: 1,
        failed: 1,
        lost: 0,
      });
      await first.close();

      // Search is untouched: the active space, its model and its vectors.
      assert.deepEqual(await catalog.models.model(), oldModel);
      assert.deepEqual((await catalog.models.activeSpace())?.id, 1);
      assert.equal(bytes((await catalog.vectors.vectorsOf([a])).get(a)!.vector), bytes(unit(1, 0, 0)));
      assert.deepEqual(
        (await allPages(catalog.vectors.tail(0))).flat().map((v) => v.vector.length),
        [3, 3, 3],
      );
      assert.equal(bytes((await catalog.vectorsIn(2).vectorsOf([a])).get(a)!.vector), bytes(unit(1, 1)));
      assert.deepEqual(
        (await allPages(catalog.vectorsIn(2).tail(0))).flat().map((v) => v.id),
        [a],
      );

      await assert.rejects(catalog.models.activateSpace(2), (err: Error) => {
        assert.ok(err instanceof SpaceIncompleteError);
        assert.equal(err.missing, 1);
        assert.match(err.message, /1 embedded image still lacks its vector; run `picsift reembed --model new-model --dtype q8`/);
        return true;
      });

      // The next run takes up what is left; identical content reuses this space's vector.
      const second = catalog.spaceQueue(2);
      t.after(() => second.close());
      assert.deepEqual(
        (await second.claim(10)).map((r) => r.id),
        [c],
      );
      assert.equal(
        bytes((await second.vectorForContent('hash of /p/a.jpg'))!.vector),
        bytes(unit(1, 1)),
        "this space's vector, not the active one's",
      );
      assert.equal(await second.vectorForContent('hash of /p/c.jpg'), null, 'c has no vector in this space yet');
      assert.deepEqual(await second.commit([as({ id: c, size: 100, mtimeMs: T0 }, unit(0, 1))], []), { embedded: 1, failed: 0, lost: 0 });
      assert.deepEqual(await catalog.models.spaceProgress(2), { embedded: 3, done: 2, failed: 1, missing: 0 });

      // An image embedded meanwhile (in the active space) needs a vector in the new one too.
      await embed(catalog, { '/p/d.jpg': { vector: unit(1, 1, 1) } });
      assert.deepEqual(await catalog.models.spaceProgress(2), { embedded: 4, done: 2, failed: 1, missing: 1 });
      await assert.rejects(catalog.models.activateSpace(2), SpaceIncompleteError);
      assert.deepEqual(
        (await second.claim(10)).map((r) => r.id),
        [d],
      );
      await second.commit([as({ id: d, size: 100, mtimeMs: T0 }, unit(1, -1))], []);

      // verify checks every space: a vector of the wrong width in the building space is found.
      const wrong = catalog.spaceQueue(2);
      assert.deepEqual(await wrong.retryFailed(), 1);
      const [retried] = await wrong.claim(1);
      assert.equal(retried.id, b);
      await wrong.commit([as(retried, unit(1, 2, 2))], []);
      assert.deepEqual(
        (await catalog.maintenance.verify()).map((p) => [p.kind, p.imageId, p.space]),
        [['vector-wrong-dims', b, 2]],
      );
      await catalog.maintenance.repair(await catalog.maintenance.verify());
      assert.equal(await statusOf(catalog, '/p/b.jpg'), 'embedded', 'a problem in a building space does not re-queue the image');
      assert.deepEqual(await catalog.models.spaceProgress(2), { embedded: 4, done: 3, failed: 0, missing: 1 });
      const third = catalog.spaceQueue(2);
      t.after(() => third.close());
      assert.deepEqual(
        (await third.claim(10)).map((r) => r.id),
        [b],
      );
      await third.commit([], [{ id: b, reason: 'too odd for the new model' }]);

      await catalog.models.activateSpace(2);
      assert.deepEqual(await catalog.models.model(), newModel);
      assert.deepEqual(await catalog.models.spaces(), [
        { id: 1, model: oldModel, state: 'retired' },
        { id: 2, model: newModel, state: 'active' },
      ]);
      assert.equal(bytes((await catalog.vectors.vectorsOf([a])).get(a)!.vector), bytes(unit(1, 1)), 'search now reads the new space');
      assert.equal(bytes((await catalog.vectorsIn(1).vectorsOf([a])).get(a)!.vector), bytes(unit(1, 0, 0)), 'the old vectors are kept');
      assert.deepEqual((await catalog.images.failures()).failed, [
        { id: b, path: '/p/b.jpg', reason: 'with new-model: too odd for the new model' },
      ]);
      assert.deepEqual(await catalog.images.counts(), { images: 4, embedded: 3, pending: 0, failed: 1 });
      assert.deepEqual(await catalog.maintenance.verify(), []);
      await catalog.models.activateSpace(2); // already active: nothing to do

      // Back to the old model: its retired space is revived with its vectors, complete already.
      await assert.rejects(catalog.models.beginSpace(newModel), /already the library's model/);
      assert.deepEqual(await catalog.models.beginSpace(oldModel), { id: 1, model: oldModel, state: 'building' });
      assert.deepEqual(await catalog.models.spaceProgress(1), { embedded: 3, done: 3, failed: 0, missing: 0 });
      await assert.rejects(catalog.models.dropSpace(2), /active model/);
      assert.equal(await catalog.models.dropSpace(1), 3);
      assert.deepEqual(await catalog.models.spaces(), [{ id: 2, model: newModel, state: 'active' }]);
      assert.deepEqual(await catalog.maintenance.verify(), []);
      await assert.rejects(catalog.models.activateSpace(1), SpaceStateError);
    });

    test('vector spaces: a space commit for an image whose file changed after the claim is lost', async (t) => {
      const { catalog } = await fresh(t, backend);
      await register(catalog, [file('/p/a.jpg')]);
      await embed(catalog, { '/p/a.jpg': { vector: unit(1, 0, 0) } });
      const space = await catalog.models.beginSpace({ id: 'new-model', dtype: 'fp32', dims: 2 });
      const queue = catalog.spaceQueue(space.id);
      t.after(() => queue.close());
      const [claimed] = await queue.claim(1);
      assert.deepEqual(await register(catalog, [file('/p/a.jpg', 555)]), { added: 0, skipped: 0, changed: 1, unchanged: 0 });
      const stale = { id: claimed.id, size: 100, mtimeMs: T0, vector: unit(1, 0), width: 1, height: 1, contentHash: 'old' };
      assert.deepEqual(await queue.commit([stale], [{ id: claimed.id, reason: 'x' }]), { embedded: 0, failed: 0, lost: 2 });
      assert.deepEqual(await catalog.models.spaceProgress(space.id), { embedded: 0, done: 0, failed: 0, missing: 0 });
    });

    test('sample: every vector of a small space, an even spread of a large one, the same each time', async (t) => {
      const { catalog } = await fresh(t, backend);
      await register(
        catalog,
        Array.from({ length: 40 }, (_, i) => file(`/p/${i}.jpg`)),
      );
      const outcomes: Record<string, Outcome> = {};
      for (let i = 0; i < 40; i++) outcomes[`/p/${i}.jpg`] = i === 7 ? { fail: 'broken' } : { vector: unit(1, i, 0) };
      await embed(catalog, outcomes);
      const all = await catalog.vectors.sample(100);
      assert.equal(all.length, 39);
      assert.equal(new Set(all.map((v) => v.id)).size, 39);
      // Runs of consecutive images at evenly spaced points (two runs of eight here).
      const some = await catalog.vectors.sample(16);
      assert.equal(some.length, 16);
      const ids = some.map((v) => v.id).sort((x, y) => x - y);
      assert.equal(new Set(ids).size, ids.length);
      assert.ok(ids[ids.length - 1] - ids[0] >= 20, `spread over the library: ${ids.join(' ')}`);
      assert.ok(!ids.includes(await idOf(catalog, '/p/7.jpg')), 'only embedded images');
      assert.deepEqual(
        (await catalog.vectors.sample(16)).map((v) => v.id),
        some.map((v) => v.id),
      );
      assert.equal((await catalog.vectors.sample(5)).length, 5);
      const [first] = await allPages(catalog.vectors.tail(0));
      const stored = new Map(first.map((v) => [v.id, bytes(v.vector)]));
      for (const v of some) assert.equal(bytes(v.vector), stored.get(v.id));
    });

    test('the identity is stable across reopening and differs between catalogues', async (t) => {
      const target = await backend.target(t);
      const catalog = await open(t, target);
      const id = await catalog.identity();
      assert.match(id, /^[0-9a-f-]{36}$/);
      assert.equal(catalog.backend, backend.name);
      await catalog.close();
      const again = await open(t, target);
      assert.equal(await again.identity(), id);
      const other = await open(t, await backend.target(t));
      assert.notEqual(await other.identity(), id);
    });

    test('locks: a second "alone" is refused naming the holder; "embed" workers share on PostgreSQL', async (t) => {
      const target = await backend.target(t);
      const catalog = await open(t, target);
      const holder = await holdLockInChild(t, target, 'alone', 'repair');
      await assert.rejects(catalog.lock('alone', 'forget'), (err: Error) => {
        assert.ok(err instanceof CatalogBusyError, String(err));
        assert.match(err.message, new RegExp(`pid ${holder.pid}\\b`));
        assert.match(err.message, /repair/);
        return true;
      });
      await assert.rejects(catalog.lock('embed', 'embed'), CatalogBusyError);
      await assert.rejects(catalog.lock('reembed', 'reembed'), CatalogBusyError);
      await holder.release();
      const mine = await catalog.lock('alone', 'forget');
      await mine.release();

      const worker = await holdLockInChild(t, target, 'embed', 'embed');
      if (backend.name === 'postgres') {
        const second = await catalog.lock('embed', 'embed');
        await assert.rejects(catalog.lock('alone', 'migrate'), /embed pid \d+/);
        const scan = await catalog.lock('scan', 'scan');
        const other = await open(t, target);
        await assert.rejects(other.lock('scan', 'scan'), CatalogBusyError);
        await scan.release();
        await second.release();
      } else {
        await assert.rejects(catalog.lock('embed', 'embed'), CatalogBusyError);
      }
      await worker.release();

      // One re-embedding at a time; on PostgreSQL, embed workers go on beside it.
      const reembed = await holdLockInChild(t, target, 'reembed', 'reembed');
      await assert.rejects(
        catalog.lock('reembed', 'reembed'),
        (err: Error) => err instanceof CatalogBusyError && /reembed/.test(err.message),
      );
      if (backend.name === 'postgres') {
        const embedWorker = await catalog.lock('embed', 'embed');
        await embedWorker.release();
        await assert.rejects(catalog.lock('alone', 'use-model'), CatalogBusyError);
      }
      await reembed.release();
    });
  });
}

/** A whole row for writeRows, with the given status and vectors. */
function row(id: number, status: CatalogRow['status'], vectors: CatalogRow['vectors']): CatalogRow {
  return {
    id,
    path: `/lib/${id}.jpg`,
    size: 1000 + id,
    mtimeMs: T0 + id,
    format: 'jpg',
    status,
    width: status === 'embedded' ? 640 : null,
    height: status === 'embedded' ? 480 : null,
    contentHash: status === 'embedded' ? `h${id}` : null,
    error: null,
    exif: NO_EXIF,
    registeredAt: T0,
    embeddedAt: status === 'embedded' ? T0 + 10 : null,
    seenScan: 1,
    vectors,
    spaceFailures: [],
  };
}

/** Takes a lock in another process (as another picsift would), until release(). */
async function holdLockInChild(
  t: TestContext,
  target: CatalogTarget,
  mode: LockMode,
  purpose: string,
): Promise<{ pid: number; release: () => Promise<void> }> {
  const module = new URL('../../src/catalog/open-catalog.js', import.meta.url).href;
  const script = `
    const { openCatalog } = await import(${JSON.stringify(module)});
    const catalog = await openCatalog(JSON.parse(process.argv[1]));
    const lock = await catalog.lock(process.argv[2], process.argv[3]);
    console.log('locked');
    process.stdin.resume();
    process.stdin.on('end', async () => { await lock.release(); await catalog.close(); console.log('released'); });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(target), mode, purpose], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  t.after(() => child.kill());
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  assert.equal((await lines.next()).value, 'locked');
  return {
    pid: child.pid!,
    release: async () => {
      child.stdin!.end();
      assert.equal((await lines.next()).value, 'released');
    },
  };
}

describe('catalogue contract: both backends give the same answers', () => {
  test('filters select the same images (globs of every shape, folders, dates across DST in a zone with DST)', async (t) => {
    const zone = process.env.TZ;
    // Both SQLite's 'localtime' and the PostgreSQL backend follow this process's zone.
    process.env.TZ = 'America/New_York';
    t.after(() => {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    });
    const paths = [
      '/p/a.jpg',
      '/p/b.jpg',
      '/p/c.png',
      '/p/ab.jpg',
      '/p/a]b.jpg',
      '/p/a-b.jpg',
      '/p/a^b.jpg',
      '/p/a\\b.jpg',
      '/p/a.b+c(1).jpg',
      '/p/été.jpg',
      '/p/über.jpg',
      '/p/sub/x.jpg',
      '/p/a b.jpg',
      '/p/$.jpg',
      '/p/{1}.jpg',
      '/p/a|b.jpg',
      '/p0/y.jpg',
      '/p-x/z.jpg',
      '/p/z.jpg',
      '/p/Z.jpg',
      '/p/-.jpg',
      '/p/[x].jpg',
      '/p/*.jpg',
      '/p/?.jpg',
    ];
    // mtimes around New York's DST changes (2021-03-14 07:00 UTC, 2021-11-07 06:00 UTC), a leap day, and before 1970.
    const mtimes = [
      Date.UTC(2021, 2, 14, 6, 59, 59),
      Date.UTC(2021, 2, 14, 7, 0, 0),
      Date.UTC(2021, 10, 7, 5, 30),
      Date.UTC(2021, 10, 7, 6, 30),
      Date.UTC(2020, 1, 29, 23, 0, 0),
      Date.UTC(1969, 11, 31, 23, 59, 59, 500),
      Date.UTC(2021, 0, 1, 4, 59, 59, 999),
      Date.UTC(2021, 0, 1, 5),
    ];
    const catalogs = await Promise.all(BACKENDS.map((b) => fresh(t, b)));
    for (const { catalog } of catalogs) {
      await register(
        catalog,
        paths.map((p, i) => file(p, 100, mtimes[i % mtimes.length], p.endsWith('.png') ? 'png' : 'jpg')),
      );
      await embed(catalog, Object.fromEntries(paths.map((p, i) => [p, { vector: unit(1, i, 0) }])));
    }
    const globs = [
      '*',
      '*.jpg',
      '/p/?.jpg',
      '/p/??.jpg',
      '/p/[ab]*',
      '/p/[^ab]*',
      '/p/[a-c].*',
      '/p/[c-a]*',
      '/p/[]]*',
      '/p/a[]]b.jpg',
      '/p/[^]]*',
      '/p/a[-]b.jpg',
      '/p/[a-]*',
      '/p/[-a]*',
      '/p/a[a-c-e]*',
      '/p/[a-c-]*',
      '/p/a[\\]b.jpg',
      '/p/a\\b.jpg',
      '/p/a.b+c(1).jpg',
      '/p/a.b+c(1)*',
      '/p/[é-ü]*',
      '/p/?t?.jpg',
      '/p/*/*',
      '/p/a b.jpg',
      '/p/$.jpg',
      '/p/{1}.jpg',
      '/p/a|b.jpg',
      '/p/[[]*',
      '/p/[*]*',
      '/p/[?]*',
      '*[',
      '[',
      '/p/[^-]*',
      '/p/a^b.jpg',
      '/p/[\\^]*',
      '/p/[z-z]*',
      '/p/[Z-a]*',
      '/P/*',
      '*.JPG',
      '/p/[x].jpg',
      '/p0*',
      '/p[-0]*',
      '',
    ];
    const filters: SearchFilter[] = [
      ...globs.map((glob) => ({ path: { glob } })),
      { path: { folder: '/p' } },
      { path: { folder: '/p/sub' } },
      { path: { folder: '/' } },
      { after: '2021-03-14T01:59:59' },
      { after: '2021-03-14T03:00:00', before: '2021-03-15' },
      { after: '2021-11-07T01:00:00', before: '2021-11-07T02:00:00' },
      { before: '1970-01-01' },
      { after: '2020-02-29T18:00:00', before: '2020-03-01' },
      { after: '2020-12-31T23:59:59', before: '2021-01-01T00:00:00' },
      { after: '2021' },
      { before: '2021-06' },
    ];
    const [sqlite, postgres] = catalogs.map((c) => c.catalog);
    for (const filter of filters) {
      const paths = async (c: Catalog) => {
        const ids = await c.images.matchingIds(filter);
        const records = await c.images.get(ids);
        return ids.map((id) => records.get(id)!.path);
      };
      assert.deepEqual(await paths(postgres), await paths(sqlite), JSON.stringify(filter));
    }
    // The zone is New York's: 04:59:59.999 UTC on New Year's Day is still the old year there.
    const lastSecond = await sqlite.images.matchingIds({ after: '2020-12-31T23:59:59', before: '2021-01-01T00:00:00' });
    assert.deepEqual(
      [...(await sqlite.images.get(lastSecond)).values()].map((r) => r.path).sort(),
      paths.filter((_, i) => i % mtimes.length === 6).sort(),
    );
  });

  test('readRows/writeRows copy a catalogue bit for bit, SQLite → PostgreSQL → SQLite, resumably', async (t) => {
    const [sqliteBackend, postgresBackend] = BACKENDS;
    const source = (await fresh(t, sqliteBackend, 3)).catalog;
    await register(
      source,
      ['/m/a.jpg', '/m/b.jpg', '/m/c.jpg', '/m/d.jpg', '/m/e.jpg'].map((p, i) => file(p, 10 + i, T0 + i * 1000.9)),
    );
    await register(source, [{ ...file('/m/n.txt'), notImage: 'text' }]);
    const exif: ExifFacts = {
      takenAt: '2021-06-05T14:03:00',
      takenOffset: '-07:00',
      cameraMake: 'Apple',
      cameraModel: 'iPhone 12',
      orientation: 6,
      gpsLat: 37.33182,
      gpsLon: -122.03118,
    };
    await embed(source, {
      '/m/a.jpg': { vector: unit(1, 2, 3), exif, hash: 'ha' },
      '/m/b.jpg': { vector: new Float32Array(new Uint32Array([0x80000000, 0x00000001, 0x3f800000]).buffer), hash: 'hb' },
      '/m/c.jpg': { fail: 'corrupt' },
    });
    const scan = await source.scans.beginScan();
    await source.scans.registerFiles(
      [file('/m/a.jpg', 10, T0), file('/m/b.jpg', 11, T0 + 1000.9), file('/m/c.jpg', 12, T0 + 2001.8)],
      scan,
    );
    await source.scans.markUnseenRemoved('/m', scan);
    const settings = {
      spaces: [
        { id: 1, model: { id: 'test-model', dtype: 'fp32', dims: 3 }, state: 'active' as const },
        { id: 2, model: { id: 'next-model', dtype: 'q8', dims: 2 }, state: 'building' as const },
      ],
      lastScan: 41,
    };
    await source.maintenance.writeSettings(settings);
    const extra = row(100, 'embedded', [
      { space: 2, vector: unit(1, 1) },
      { space: 1, vector: unit(0, 0, 1) },
    ]);
    extra.spaceFailures = [{ space: 3, reason: 'too large for next-model' }];
    extra.exif = { ...NO_EXIF, gpsLat: 0.1 + 0.2, gpsLon: -1e-300 };
    await source.maintenance.writeRows([extra]);

    const copy = async (from: Catalog, to: Catalog) => {
      await to.maintenance.writeSettings(await from.maintenance.settings());
      // Resumable: a first page, then on from wherever the copy got to.
      await to.maintenance.writeRows(await from.maintenance.readRows(0, 2));
      for (let rows = await from.maintenance.readRows(await to.maintenance.lastRowId(), 2); rows.length > 0;) {
        assert.equal(await to.maintenance.writeRows(rows), rows.length);
        rows = await from.maintenance.readRows(rows[rows.length - 1].id, 2);
      }
      assert.equal(await to.maintenance.writeRows(await from.maintenance.readRows(0, 100)), 0, 'present rows are skipped');
    };
    const dump = async (c: Catalog) =>
      (await c.maintenance.readRows(0, 1000)).map((r) => ({
        ...r,
        vectors: r.vectors.map((v) => ({ space: v.space, bytes: bytes(v.vector) })).sort((x, y) => x.space - y.space),
      }));

    const middle = await open(t, await postgresBackend.target(t));
    await copy(source, middle);
    const expected = await dump(source);
    assert.equal(expected.length, 7);
    assert.deepEqual(await dump(middle), expected);
    assert.deepEqual(await middle.maintenance.settings(), settings);
    assert.equal(await middle.maintenance.lastRowId(), 100);

    const back = await open(t, await sqliteBackend.target(t));
    await copy(middle, back);
    assert.deepEqual(await dump(back), expected);
    assert.deepEqual(await back.maintenance.settings(), settings);
    assert.notEqual(await back.identity(), await source.identity(), 'a copy is another catalogue');

    // New images in the copy get ids past the copied ones.
    await register(middle, [file('/m/new.jpg')]);
    assert.equal(await idOf(middle, '/m/new.jpg'), 101);
    assert.deepEqual(await middle.scans.beginScan(), 43, 'the scan counter went on from the copied 41 (42 registered new.jpg)');
  });
});
