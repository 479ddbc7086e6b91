// The embed pipeline's stages, each in-process with small honest stand-ins: a
// read stage that serves bytes from memory, a decode stage that writes a known
// tensor, and encoders that return fixed vectors (or NaN for one image). The
// catalogue is a real SQLite one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { encodeBatch, type BatchEncoder } from '../../src/pipeline/encode-stage.js';
import { embedPending, type PipelineEncoder } from '../../src/pipeline/embed.js';
import { prepareBatch, type DecodeStage, type ReadStage } from '../../src/pipeline/prepare.js';
import type { EmbedQueue } from '../../src/catalog/ports.js';
import type { PreprocessConfig } from '../../src/media/preprocessor-config.js';
import { NO_EXIF } from '../../src/catalog/types.js';
import { pendingRecord, register, testLibrary } from '../catalog-fixture.js';

const DIMS = 4;
/** A 1×1 "crop": one float per channel, so a tensor slot is 3 floats. */
const CONFIG = { cropHeight: 1, cropWidth: 1 } as PreprocessConfig;

/** Files in memory: path → content. The content's first byte becomes the pixel value. */
function memoryRead(files: Record<string, string>): ReadStage {
  return async (path) => {
    const content = files[path];
    if (content === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
    const bytes = Buffer.from(content);
    return { bytes, size: bytes.length, mtimeMs: 1, contentHash: createHash('sha256').update(bytes).digest('hex') };
  };
}

/** Writes the content's first byte into every channel; "bad…" content does not decode. */
const byteDecode: DecodeStage = async (bytes, out, offset) => {
  if (bytes.toString().startsWith('bad')) throw new Error('cannot decode image: not a picture');
  out.fill(bytes[0], offset, offset + 3);
  return { width: 10, height: 10, exif: NO_EXIF };
};

/** Returns, for each image, the vector (v, 1, 0, 0) from its pixel value v, unnormalised; NaN for the value `nanFor`. */
function fixedEncoder(nanFor?: number): PipelineEncoder {
  return {
    dims: DIMS,
    parallelism: 1,
    preprocess: CONFIG,
    async encode(pixels, count) {
      const out = new Float32Array(count * DIMS);
      for (let i = 0; i < count; i++) {
        const v = pixels[i * 3];
        out.set(v === nanFor ? [NaN, NaN, NaN, NaN] : [v, 1, 0, 0], i * DIMS);
      }
      return out;
    },
  };
}

const record = pendingRecord;

test('read + decode: a file that cannot be read or decoded is a failure with its reason; the rest are packed for the encoder', async () => {
  const batch = await prepareBatch([record(1, '/a'), record(2, '/gone'), record(3, '/bad'), record(4, '/b')], {
    config: CONFIG,
    read: memoryRead({ '/a': 'A', '/bad': 'bad bytes', '/b': 'B' }),
    decode: byteDecode,
  });
  assert.deepEqual(
    batch.images.map((i) => i.id),
    [1, 4],
  );
  assert.deepEqual([...batch.pixels], [65, 65, 65, 66, 66, 66], 'the gaps left by failures are closed');
  assert.deepEqual(batch.failed, [
    { id: 2, reason: "ENOENT: no such file or directory, open '/gone'" },
    { id: 3, reason: 'cannot decode image: not a picture' },
  ]);
});

test('read: content already embedded reuses its vector without decoding', async () => {
  const known = new Float32Array([0, 1, 0, 0]);
  let decoded = 0;
  const batch = await prepareBatch([record(1, '/a'), record(2, '/copy')], {
    config: CONFIG,
    read: memoryRead({ '/a': 'A', '/copy': 'same' }),
    decode: async (...args) => {
      decoded++;
      return byteDecode(...args);
    },
    reusableVector: async (hash) =>
      hash === createHash('sha256').update('same').digest('hex') ? { vector: known, width: 3, height: 2 } : null,
  });
  assert.equal(decoded, 1);
  assert.deepEqual(
    batch.reused.map((r) => [r.id, [...r.vector], r.width]),
    [[2, [0, 1, 0, 0], 3]],
  );
});

test('encode: a non-finite vector fails that image with a reason, the others are normalised and kept', async () => {
  const batch = await prepareBatch([record(1, '/a'), record(2, '/b'), record(3, '/c')], {
    config: CONFIG,
    read: memoryRead({ '/a': 'A', '/b': 'B', '/c': 'C' }),
    decode: byteDecode,
  });
  const encoded = await encodeBatch(fixedEncoder(66) as BatchEncoder, batch);
  assert.deepEqual(
    encoded.embedded.map((e) => e.id),
    [1, 3],
  );
  for (const e of encoded.embedded) assert.ok(Math.abs(Math.hypot(...e.vector) - 1) < 1e-6);
  assert.deepEqual(encoded.failed, [{ id: 2, reason: 'the model produced a non-finite vector (NaN or infinity) for this image' }]);
});

test('the whole pipeline over a real catalogue: a NaN vector for one image is recorded as failed, and the run goes on', async (t) => {
  const { catalog } = await testLibrary(t, DIMS);
  const files: Record<string, string> = {};
  for (let i = 0; i < 40; i++) files[`/p/${i}.jpg`] = String.fromCharCode(40 + i);
  await register(
    catalog,
    Object.keys(files).map((path) => ({ path, size: 1, mtimeMs: 1, format: 'jpg' })),
  );
  const failures: string[] = [];
  const report = await embedPending(catalog.embedQueue(), fixedEncoder(40 + 17), {
    batchSize: 8,
    read: memoryRead(files),
    decode: byteDecode,
    onFailure: (path, reason) => failures.push(`${path}: ${reason}`),
  });
  assert.deepEqual([report.embedded, report.failed, report.lost], [39, 1, 0]);
  assert.deepEqual(failures, ['/p/17.jpg: the model produced a non-finite vector (NaN or infinity) for this image']);
  assert.deepEqual(await catalog.images.counts(), { images: 40, embedded: 39, pending: 0, failed: 1 });
  const { failed } = await catalog.images.failures();
  assert.deepEqual(
    failed.map((f) => f.path),
    ['/p/17.jpg'],
  );

  // A rerun has nothing left to do: it does not stop at the same image again.
  const again = await embedPending(catalog.embedQueue(), fixedEncoder(40 + 17), { read: memoryRead(files), decode: byteDecode });
  assert.deepEqual([again.embedded, again.failed], [0, 0]);
});

test('shouldStop: the batches in flight are committed, no new ones are claimed', async (t) => {
  const { catalog } = await testLibrary(t, DIMS);
  const files: Record<string, string> = {};
  for (let i = 0; i < 64; i++) files[`/p/${i}.jpg`] = String.fromCharCode(40 + i);
  await register(
    catalog,
    Object.keys(files).map((path) => ({ path, size: 1, mtimeMs: 1, format: 'jpg' })),
  );
  let claimed = 0;
  const queue = catalog.embedQueue();
  const counting: EmbedQueue = {
    pendingCount: () => queue.pendingCount(),
    claim: async (n) => ((claimed += n), queue.claim(n)),
    claimedElsewhere: () => queue.claimedElsewhere(),
    commit: (embedded, failed) => queue.commit(embedded, failed),
    vectorForContent: (hash) => queue.vectorForContent(hash),
    retryFailed: () => queue.retryFailed(),
    close: () => queue.close(),
  };
  const report = await embedPending(counting, fixedEncoder(), {
    batchSize: 8,
    read: memoryRead(files),
    decode: byteDecode,
    shouldStop: () => claimed >= 16,
  });
  assert.equal(report.embedded, 16);
  assert.deepEqual(await catalog.images.counts(), { images: 64, embedded: 16, pending: 48, failed: 0 });
});
