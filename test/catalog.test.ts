import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteCatalog } from '../src/catalog/sqlite-catalog.js';
import { ModelMismatchError, type ScannedFile } from '../src/catalog/catalog.js';
import { tempDir } from './support.js';
import type { Catalog } from '../src/catalog/catalog.js';

/** Registers files as one scan would. */
const register = (catalog: Catalog, files: ScannedFile[]) => catalog.registerFiles(files, catalog.beginScan());

const file = (path: string, size = 100, mtimeMs = 1_700_000_000_000): ScannedFile => ({ path, size, mtimeMs, format: 'jpg' });
const unit = (...v: number[]): Float32Array => {
  const n = Math.hypot(...v);
  return Float32Array.from(v.map((x) => x / n));
};

test('registering is idempotent and a changed file goes back to pending without its old vector', (t) => {
  const path = join(tempDir(t), 'catalog.sqlite');
  const catalog = new SqliteCatalog(path);
  assert.deepEqual(register(catalog, [file('/p/a.jpg'), file('/p/b.jpg')]), { added: 2, skipped: 0, changed: 0, unchanged: 0 });
  assert.deepEqual(register(catalog, [file('/p/a.jpg'), file('/p/b.jpg')]), { added: 0, skipped: 0, changed: 0, unchanged: 2 });

  const [a, b] = catalog.pendingImages(0, 10);
  catalog.commitBatch(
    [{ id: a.id, size: 1, mtimeMs: 1, vector: unit(1, 0, 0), width: 4, height: 3, contentHash: 'h' }],
    [{ id: b.id, reason: 'broken' }],
  );
  assert.deepEqual(catalog.counts(), { images: 2, embedded: 1, pending: 0, failed: 1 });

  assert.deepEqual(register(catalog, [file('/p/a.jpg', 101)]), { added: 0, skipped: 0, changed: 1, unchanged: 0 });
  assert.deepEqual(catalog.counts(), { images: 2, embedded: 0, pending: 1, failed: 1 });
  assert.equal(catalog.vectorsOf([a.id]).size, 0, 'the stale vector is gone');
  catalog.close();
});

test('a committed vector and its embedded mark are seen together by another connection, and survive reopening', (t) => {
  const path = join(tempDir(t), 'catalog.sqlite');
  const writer = new SqliteCatalog(path);
  register(writer, [file('/p/a.jpg')]);
  const reader = new Database(path, { readonly: true });
  const [a] = writer.pendingImages(0, 1);
  writer.commitBatch([{ id: a.id, size: 1, mtimeMs: 1, vector: unit(0, 3, 4), width: 640, height: 480, contentHash: 'abc' }], []);
  const row = reader
    .prepare('SELECT i.status, i.width, i.content_hash, length(v.vector) AS bytes FROM images i JOIN vectors v ON v.image_id = i.id')
    .get() as { status: string; width: number; content_hash: string; bytes: number };
  assert.deepEqual(row, { status: 'embedded', width: 640, content_hash: 'abc', bytes: 12 });
  assert.equal(reader.pragma('journal_mode', { simple: true }), 'wal');
  reader.close();
  writer.close();

  const again = new SqliteCatalog(path);
  const stored = again.vectorsOf([a.id]).get(a.id);
  assert.deepEqual(Array.from(stored!.vector), Array.from(unit(0, 3, 4)));
  again.close();
});

test('a commit that fails part-way leaves neither the vector nor the mark', (t) => {
  const path = join(tempDir(t), 'catalog.sqlite');
  const catalog = new SqliteCatalog(path);
  register(catalog, [file('/p/a.jpg'), file('/p/b.jpg')]);
  const [a, b] = catalog.pendingImages(0, 10);
  // A vector that is not a typed array makes the second insert throw inside the transaction.
  assert.throws(() =>
    catalog.commitBatch(
      [
        { id: a.id, size: 1, mtimeMs: 1, vector: unit(1, 0), width: 1, height: 1, contentHash: 'x' },
        { id: b.id, size: 1, mtimeMs: 1, vector: null as unknown as Float32Array, width: 1, height: 1, contentHash: 'y' },
      ],
      [],
    ),
  );
  assert.deepEqual(catalog.counts(), { images: 2, embedded: 0, pending: 2, failed: 0 });
  assert.equal(catalog.vectorsOf([a.id, b.id]).size, 0);
  catalog.close();
});

test('a library refuses vectors from a second model', (t) => {
  const catalog = new SqliteCatalog(join(tempDir(t), 'catalog.sqlite'));
  catalog.claimModel({ id: 'org/model-a', dtype: 'fp32', dims: 512 });
  catalog.claimModel({ id: 'org/model-a', dtype: 'fp32', dims: 512 });
  assert.throws(() => catalog.claimModel({ id: 'org/model-b', dtype: 'fp32', dims: 512 }), ModelMismatchError);
  assert.throws(() => catalog.claimModel({ id: 'org/model-a', dtype: 'q8', dims: 512 }), /refusing to mix/);
  assert.deepEqual(catalog.model(), { id: 'org/model-a', dtype: 'fp32', dims: 512 });
  catalog.close();
});

test('vectors come back in commit order, and re-embedding gives a later seq', (t) => {
  const catalog = new SqliteCatalog(join(tempDir(t), 'catalog.sqlite'));
  register(catalog, [file('/p/a.jpg'), file('/p/b.jpg')]);
  const [a, b] = catalog.pendingImages(0, 10);
  catalog.commitBatch([{ id: b.id, size: 1, mtimeMs: 1, vector: unit(1, 0), width: 1, height: 1, contentHash: 'b' }], []);
  catalog.commitBatch([{ id: a.id, size: 1, mtimeMs: 1, vector: unit(0, 1), width: 1, height: 1, contentHash: 'a' }], []);
  assert.deepEqual(
    [...catalog.vectorsAfter(0)].map((v) => v.id),
    [b.id, a.id],
  );
  const firstSeqOfB = catalog.vectorsOf([b.id]).get(b.id)!.seq;
  register(catalog, [file('/p/b.jpg', 999)]);
  catalog.commitBatch([{ id: b.id, size: 1, mtimeMs: 1, vector: unit(1, 1), width: 1, height: 1, contentHash: 'b2' }], []);
  const later = catalog.vectorsOf([b.id]).get(b.id)!;
  assert.ok(later.seq > firstSeqOfB);
  assert.equal(catalog.countVectorsUpTo(firstSeqOfB), 0, 'the old vector of b is gone; a is after it');
  catalog.close();
});
