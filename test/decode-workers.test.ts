// Stages 1–2 in worker threads (src/pipeline/decode-pool.ts) against the same
// stages on the main thread, in-process, over real files: the 86 camera photos
// of ../shared/data/photos and the broken files of ../shared/data/bad-inputs.
// The worker path is forced with an option, so it is tested on any core count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ImageRecord } from '../src/catalog/types.js';
import { parsePreprocessorConfig, type PreprocessConfig } from '../src/media/preprocessor-config.js';
import { ImageEncoder } from '../src/model/encoders.js';
import { resolveModel } from '../src/model/model-files.js';
import { DecodePool } from '../src/pipeline/decode-pool.js';
import { decodePlan, embedPending } from '../src/pipeline/embed.js';
import { prepareBatch, type PreparedBatch } from '../src/pipeline/prepare.js';
import * as slowStages from './decode-stand-ins-slow.js';
import { Limiter } from '../src/util/limiter.js';
import { pendingRecord, register, testLibrary } from './catalog-fixture.js';
import { allOf, models, sharedDir, tempDir } from './support.js';

const photosDir = join(sharedDir, 'data', 'photos');
const badInputs = join(sharedDir, 'data', 'bad-inputs');
const standIns = new URL('./decode-stand-ins.js', import.meta.url).href;
const slowStandIns = new URL('./decode-stand-ins-slow.js', import.meta.url).href;

const config: PreprocessConfig = parsePreprocessorConfig(
  JSON.parse(readFileSync(join(models.tinyClip, 'preprocessor_config.json'), 'utf8')),
  'tiny-clip preprocessor_config.json',
);

const photos = (): string[] =>
  readdirSync(photosDir)
    .filter((f) => /\.jpe?g$/i.test(f))
    .sort()
    .map((f) => join(photosDir, f));

const recordsFor = (paths: string[]): ImageRecord[] => paths.map((path, i) => pendingRecord(i + 1, path));

/** prepareBatch over `paths`, `inFlight` files at once, on this thread or in `workers`. */
function prepare(paths: string[], inFlight: number, workers?: DecodePool, timeoutMs?: number): Promise<PreparedBatch> {
  return prepareBatch(recordsFor(paths), { config, limiter: new Limiter(inFlight), workers, timeoutMs });
}

async function withPool<T>(options: Partial<Parameters<typeof DecodePool.start>[0]>, use: (pool: DecodePool) => Promise<T>): Promise<T> {
  const pool = await DecodePool.start({ workers: 2, config, ...options });
  try {
    return await use(pool);
  } finally {
    await pool.close();
  }
}

const reasons = (batch: PreparedBatch, paths: string[]): Map<string, string> =>
  new Map(batch.failed.map((f) => [paths[f.id - 1], f.reason]));

test('the worker path gives the same tensors, bit for bit, and the same facts as the main thread', { timeout: 120_000 }, async () => {
  const paths = photos();
  assert.ok(paths.length >= 80, `the shared photos are in ${photosDir}`);
  const here = await prepare(paths, 4);
  const there = await withPool({}, (pool) => prepare(paths, 8, pool));
  assert.equal(here.failed.length, 0, JSON.stringify(here.failed));
  assert.deepEqual(there.failed, here.failed);
  assert.deepEqual(there.images, here.images, 'size, mtime, oriented size, content hash and EXIF facts');
  assert.ok(
    here.images.some((i) => i.exif?.cameraMake),
    'the photos carry EXIF',
  );
  assert.equal(there.pixels.length, here.pixels.length);
  assert.ok(
    Buffer.from(there.pixels.buffer, there.pixels.byteOffset, there.pixels.byteLength).equals(
      Buffer.from(here.pixels.buffer, here.pixels.byteOffset, here.pixels.byteLength),
    ),
    'bit-identical tensors',
  );
});

test('failures in workers carry the same one-line reasons as on the main thread', { timeout: 300_000 }, async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'empty.jpg'), '');
  mkdirSync(join(dir, 'a folder.jpg'));
  execFileSync('mkfifo', [join(dir, 'pipe.jpg')]);
  const files = readdirSync(badInputs, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => resolve(e.parentPath, e.name))
    .sort();
  const paths = [...files, join(dir, 'empty.jpg'), join(dir, 'a folder.jpg'), join(dir, 'pipe.jpg'), join(dir, 'gone.jpg')];
  // One at a time on this thread: nothing else can mix into a failure's message.
  const alone = reasons(await prepare(paths, 1), paths);
  assert.ok(alone.size > 100, `bad-inputs has its broken files (${alone.size} failed)`);
  for (const reason of alone.values()) assert.match(reason, /^[^\n]{6,}$/, 'one line');
  assert.equal(alone.get(join(dir, 'empty.jpg')), 'file is empty');
  assert.match(alone.get(join(dir, 'pipe.jpg')) ?? '', /^not a regular file \(a named pipe\)/);
  assert.match(alone.get(join(dir, 'gone.jpg')) ?? '', /^ENOENT/);
  // Many at once in two workers, which share libvips' one error buffer: each
  // failure is rerun alone across threads, so its reason is still its own.
  const inWorkers = reasons(await withPool({}, (pool) => prepare(paths, 8, pool)), paths);
  const differ = [...alone].filter(([path, reason]) => inWorkers.get(path) !== reason);
  assert.deepEqual(
    differ.map(([path, reason]) => `${path}\n  alone:   ${reason}\n  workers: ${inWorkers.get(path)}`),
    [],
  );
  assert.equal(inWorkers.size, alone.size);
});

test('a worker that crashes fails only the file it held, with a reason, and is replaced', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const good = photos().slice(0, 6);
  const paths = [...good.slice(0, 3), join(dir, 'crash-the-thread.jpg'), ...good.slice(3), join(dir, 'crash-the-thread-2.jpg'), good[0]];
  for (const p of paths) if (p.startsWith(dir)) copyFileSync(good[0], p);
  // Two workers and two files at once: a worker holds one file at a time.
  const batch = await withPool({ stages: standIns }, async (pool) => {
    const result = await prepare(paths, 2, pool);
    assert.equal(pool.size, 2, 'both workers were replaced');
    return result;
  });
  const failed = reasons(batch, paths);
  assert.deepEqual([...failed.keys()], [paths[3], paths[7]]);
  for (const reason of failed.values()) {
    assert.match(
      reason,
      /^its decoder thread crashed \(.*boom in the decoder thread.*\) while handling this file or another; embed --retry-failed/,
    );
  }
  assert.equal(batch.images.length, paths.length - 2);
});

test(
  'a worker whose JavaScript never returns: that file times out, the worker is replaced, the rest are decoded',
  { timeout: 120_000 },
  async (t) => {
    const dir = tempDir(t);
    const good = photos().slice(0, 8);
    const stuck = join(dir, 'hang-the-thread.jpg');
    copyFileSync(good[0], stuck);
    const paths = [good[0], stuck, ...good.slice(1)];
    const batch = await withPool({ stages: standIns, timeoutMs: 1500, pingLimitMs: 500 }, (pool) => prepare(paths, 2, pool, 1500));
    assert.deepEqual(batch.failed, [{ id: 2, reason: 'gave up after 1.5 s (decoder did not finish)' }]);
    assert.equal(batch.images.length, paths.length - 1);
  },
);

test(
  'a file on a hung mount, or one whose decode never ends, fails with the same reason in a worker as on the main thread',
  { timeout: 60_000 },
  async (t) => {
    const dir = tempDir(t);
    const good = photos().slice(0, 3);
    const hung = join(dir, 'on-a-hung-mount.jpg');
    copyFileSync(good[0], hung);
    const slow = join(dir, 'slow.jpg');
    writeFileSync(slow, Buffer.concat([readFileSync(good[1]), slowStages.NEVER_ENDING]));
    const paths = [good[0], hung, slow, good[2]];
    const here = await prepareBatch(recordsFor(paths), {
      config,
      limiter: new Limiter(2),
      timeoutMs: 1000,
      read: slowStages.read,
      decode: slowStages.decode,
    });
    const there = await withPool({ stages: slowStandIns, timeoutMs: 1000 }, (pool) => prepare(paths, 2, pool, 1000));
    const expected = new Map([
      [hung, 'gave up after 1 s: opening the file did not finish (a hung network mount?)'],
      [slow, 'gave up after 1 s (decoder did not finish)'],
    ]);
    assert.deepEqual(reasons(here, paths), expected);
    assert.deepEqual(reasons(there, paths), expected);
    assert.equal(there.images.length, 2);
  },
);

test(
  'embed: decode workers give the same vectors as the main thread, reuse copies without decoding, record crashes',
  { timeout: 180_000 },
  async (t) => {
    const dir = tempDir(t);
    const files = photos().slice(0, 20);
    mkdirSync(join(dir, 'p'));
    const paths = files.map((f, i) => {
      const to = join(dir, 'p', `${String(i).padStart(2, '0')}.jpg`);
      copyFileSync(f, to);
      return to;
    });
    // Content of its own (bytes after the JPEG's end), so that on the main thread it is decoded, not reused.
    writeFileSync(join(dir, 'p', 'crash-the-thread.jpg'), Buffer.concat([readFileSync(files[1]), Buffer.from('unique')]));
    paths.push(join(dir, 'p', 'crash-the-thread.jpg'));
    // Found later: identical content reuses the stored vector, without decoding.
    const copy = join(dir, 'p', 'copy-of-00.jpg');
    copyFileSync(files[0], copy);

    const model = await resolveModel({ id: models.tinyClip, dtype: 'fp32' }, { cacheDir: models.tinyClip });
    const encoder = await ImageEncoder.load(model);
    t.after(() => encoder.close());
    const run = async (decodeWorkers: number) => {
      const { catalog } = await testLibrary(t, encoder.dims);
      const failures: string[] = [];
      const embed = async (files: string[]) => {
        await register(
          catalog,
          files.map((path) => ({ path, size: 1, mtimeMs: 1, format: 'jpg' })),
        );
        return embedPending(catalog.embedQueue(), encoder, {
          batchSize: 8,
          decodeWorkers,
          workerStages: decodeWorkers > 0 ? standIns : undefined,
          onFailure: (path, reason) => failures.push(`${path}: ${reason}`),
        });
      };
      const report = await embed(paths);
      const later = await embed([copy]);
      const vectors = await allOf(catalog.vectors.tail(0));
      const records = await catalog.images.get(vectors.map((v) => v.id));
      return { report, later, failures, vectors: new Map(vectors.map((v) => [records.get(v.id)!.path, v.vector])) };
    };
    const here = await run(0);
    const there = await run(2);
    assert.equal(there.report.decoding.workers, 2);
    assert.equal(here.report.decoding.workers, 0);
    // On this thread the stand-in module is not loaded: the "crash" file is an ordinary photo.
    assert.deepEqual([here.report.embedded, here.report.failed], [paths.length, 0]);
    // 4 files at once in 2 workers: the crash fails the files its thread held (at most 2), nothing else.
    assert.equal(there.report.embedded + there.report.failed, paths.length);
    assert.ok(there.report.failed >= 1 && there.report.failed <= 2, there.failures.join('\n'));
    assert.ok(there.failures.some((f) => f.includes('crash-the-thread.jpg: ')));
    for (const failure of there.failures) assert.match(failure, /: its decoder thread crashed \(.*boom/);
    for (const { later } of [here, there]) assert.deepEqual([later.embedded, later.reused, later.failed], [1, 1, 0]);
    assert.equal(there.vectors.size, there.report.embedded + 1);
    for (const [path, vector] of there.vectors) assert.deepEqual(vector, here.vectors.get(path), path);
    assert.deepEqual(there.vectors.get(copy), there.vectors.get(paths[0]));
  },
);

test('the decode plan: frugal beside a model on the CPU, workers beside a GPU, overrides win', () => {
  const cpu = decodePlan({ provider: 'cpu' }, { decodeThreads: 4 });
  assert.equal(cpu.workers, 0, 'today: no workers on up to 4 decode threads with the model on the CPU');
  assert.equal(cpu.inFlight, cpu.threads, 'one file per decode thread');
  assert.deepEqual(decodePlan({}, { decodeThreads: 4 }), cpu, 'no provider: the CPU');
  const gpu = decodePlan({ provider: 'cuda' }, { decodeThreads: 4 });
  assert.ok(gpu.workers >= 1);
  assert.equal(gpu.inFlight, 2 * gpu.threads);
  assert.deepEqual(
    (({ inFlight, workers }) => ({ inFlight, workers }))(decodePlan({ provider: 'cpu' }, { decodeConcurrency: 3, decodeWorkers: 2 })),
    { inFlight: 3, workers: 2 },
  );
  assert.equal(
    decodePlan({ provider: 'cuda' }, { read: async () => ({ bytes: Buffer.alloc(1), size: 1, mtimeMs: 1, contentHash: '' }) }).workers,
    0,
  );
});

test('workers that cannot start are an error that says why, before any file is touched', async () => {
  await assert.rejects(
    DecodePool.start({ workers: 2, config, stages: new URL('./no-such-stand-ins.js', import.meta.url).href }),
    /^Error: cannot start the decoder's worker threads: .*no-such-stand-ins\.js/,
  );
});
