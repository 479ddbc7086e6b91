import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openCatalog } from '../../src/catalog/open-catalog.js';
import type { Catalog, EmbedQueue } from '../../src/catalog/ports.js';
import { ModelMismatchError, type EmbeddedImage, type FailedImage, type ScannedFile } from '../../src/catalog/types.js';
import { allOf, tempDir } from '../support.js';

/** Registers files as one scan would. */
const register = async (catalog: Catalog, files: ScannedFile[]) => catalog.scans.registerFiles(files, await catalog.scans.beginScan());

const file = (path: string, size = 100, mtimeMs = 1_700_000_000_000): ScannedFile => ({ path, size, mtimeMs, format: 'jpg' });
const unit = (...v: number[]): Float32Array => {
  const n = Math.hypot(...v);
  return Float32Array.from(v.map((x) => x / n));
};

/** A SQLite catalogue in a fresh folder, with a model of `dims` recorded (vectors belong to a model's space). */
async function newCatalog(t: { after: (fn: () => void) => void }, dims: number): Promise<{ catalog: Catalog; dir: string }> {
  const dir = tempDir(t);
  const catalog = await openCatalog({ libraryDir: dir });
  await catalog.models.claimModel({ id: 'org/model', dtype: 'fp32', dims });
  return { catalog, dir };
}

const commit = (queue: EmbedQueue, embedded: EmbeddedImage[], failed: FailedImage[] = []) => queue.commit(embedded, failed);

test('registering is idempotent and a changed file goes back to pending without its old vector', async (t) => {
  const { catalog } = await newCatalog(t, 3);
  assert.deepEqual(await register(catalog, [file('/p/a.jpg'), file('/p/b.jpg')]), { added: 2, skipped: 0, changed: 0, unchanged: 0 });
  assert.deepEqual(await register(catalog, [file('/p/a.jpg'), file('/p/b.jpg')]), { added: 0, skipped: 0, changed: 0, unchanged: 2 });

  const queue = catalog.embedQueue();
  const [a, b] = await queue.claim(10);
  await commit(
    queue,
    [{ id: a.id, size: 1, mtimeMs: 1, vector: unit(1, 0, 0), width: 4, height: 3, contentHash: 'h' }],
    [{ id: b.id, reason: 'broken' }],
  );
  assert.deepEqual(await catalog.images.counts(), { images: 2, embedded: 1, pending: 0, failed: 1 });

  assert.deepEqual(await register(catalog, [file('/p/a.jpg', 101)]), { added: 0, skipped: 0, changed: 1, unchanged: 0 });
  assert.deepEqual(await catalog.images.counts(), { images: 2, embedded: 0, pending: 1, failed: 1 });
  assert.equal((await catalog.vectors.vectorsOf([a.id])).size, 0, 'the stale vector is gone');
  await catalog.close();
});

test('a committed vector and its embedded mark are seen together by another connection, and survive reopening', async (t) => {
  const { catalog: writer, dir } = await newCatalog(t, 3);
  const path = join(dir, 'catalog.sqlite');
  await register(writer, [file('/p/a.jpg')]);
  const reader = new Database(path, { readonly: true });
  const queue = writer.embedQueue();
  const [a] = await queue.claim(1);
  await commit(queue, [{ id: a.id, size: 1, mtimeMs: 1, vector: unit(0, 3, 4), width: 640, height: 480, contentHash: 'abc' }]);
  const row = reader
    .prepare('SELECT i.status, i.width, i.content_hash, length(v.vector) AS bytes FROM images i JOIN vectors v ON v.image_id = i.id')
    .get() as { status: string; width: number; content_hash: string; bytes: number };
  assert.deepEqual(row, { status: 'embedded', width: 640, content_hash: 'abc', bytes: 12 });
  assert.equal(reader.pragma('journal_mode', { simple: true }), 'wal');
  reader.close();
  await writer.close();

  const again = await openCatalog({ libraryDir: dir }, { mustExist: true });
  const stored = (await again.vectors.vectorsOf([a.id])).get(a.id);
  assert.deepEqual(Array.from(stored!.vector), Array.from(unit(0, 3, 4)));
  await again.close();
});

test('a commit that fails part-way leaves neither the vector nor the mark', async (t) => {
  const { catalog } = await newCatalog(t, 2);
  await register(catalog, [file('/p/a.jpg'), file('/p/b.jpg')]);
  const queue = catalog.embedQueue();
  const [a, b] = await queue.claim(10);
  // A vector that is not a typed array makes the second insert throw inside the transaction.
  await assert.rejects(() =>
    commit(queue, [
      { id: a.id, size: 1, mtimeMs: 1, vector: unit(1, 0), width: 1, height: 1, contentHash: 'x' },
      { id: b.id, size: 1, mtimeMs: 1, vector: null as unknown as Float32Array, width: 1, height: 1, contentHash: 'y' },
    ]),
  );
  assert.deepEqual(await catalog.images.counts(), { images: 2, embedded: 0, pending: 2, failed: 0 });
  assert.equal((await catalog.vectors.vectorsOf([a.id, b.id])).size, 0);
  await catalog.close();
});

test('a library refuses vectors from a second model', async (t) => {
  const catalog = await openCatalog({ libraryDir: tempDir(t) });
  await catalog.models.claimModel({ id: 'org/model-a', dtype: 'fp32', dims: 512 });
  await catalog.models.claimModel({ id: 'org/model-a', dtype: 'fp32', dims: 512 });
  await assert.rejects(() => catalog.models.claimModel({ id: 'org/model-b', dtype: 'fp32', dims: 512 }), ModelMismatchError);
  await assert.rejects(() => catalog.models.claimModel({ id: 'org/model-a', dtype: 'q8', dims: 512 }), /refusing to mix/);
  assert.deepEqual(await catalog.models.model(), { id: 'org/model-a', dtype: 'fp32', dims: 512 });
  await catalog.close();
});

test('vectors come back in commit order, and re-embedding gives a later position', async (t) => {
  const { catalog } = await newCatalog(t, 2);
  await register(catalog, [file('/p/a.jpg'), file('/p/b.jpg')]);
  const queue = catalog.embedQueue();
  const [a, b] = await queue.claim(10);
  await commit(queue, [{ id: b.id, size: 1, mtimeMs: 1, vector: unit(1, 0), width: 1, height: 1, contentHash: 'b' }]);
  await commit(queue, [{ id: a.id, size: 1, mtimeMs: 1, vector: unit(0, 1), width: 1, height: 1, contentHash: 'a' }]);
  assert.deepEqual(
    (await allOf(catalog.vectors.tail(0))).map((v) => v.id),
    [b.id, a.id],
  );
  const firstOfB = (await catalog.vectors.vectorsOf([b.id])).get(b.id)!.position;
  await register(catalog, [file('/p/b.jpg', 999)]);
  await commit(queue, [{ id: b.id, size: 1, mtimeMs: 1, vector: unit(1, 1), width: 1, height: 1, contentHash: 'b2' }]);
  const later = (await catalog.vectors.vectorsOf([b.id])).get(b.id)!;
  assert.ok(later.position > firstOfB);
  assert.equal(await catalog.vectors.countBelow(firstOfB + 1), 0, 'the old vector of b is gone; a is after it');
  await catalog.close();
});
