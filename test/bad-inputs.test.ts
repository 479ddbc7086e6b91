// Promise 1 again: bad files never stop a run. Every file of ../shared/data/bad-inputs
// (corrupt, truncated, fuzzed, bombs, exotic formats, EXIF orientations) plus cases
// made here either gets a vector or is listed by `picsift errors` with a reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { models, runCli, sharedDir, tempDir, writeSolidJpeg } from './support.js';

const badInputs = join(sharedDir, 'data', 'bad-inputs');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => resolve(e.parentPath, e.name));
}

test('indexing bad-inputs finishes, and every file is embedded or listed with a reason', { timeout: 300_000 }, async (t) => {
  const library = tempDir(t);
  const started = Date.now();
  const run = await runCli(['--library', library, '--model', models.tinyClip, 'index', badInputs]);
  assert.equal(run.code, 0, run.stderr);
  const errors = JSON.parse((await runCli(['--library', library, 'errors', '--json'])).stdout) as {
    failed: { path: string; reason: string }[];
    skipped: { path: string; reason: string }[];
  };
  const status = JSON.parse((await runCli(['--library', library, 'status', '--json'])).stdout);
  const listed = new Map([...errors.failed, ...errors.skipped].map((f) => [f.path, f.reason]));
  for (const reason of listed.values()) assert.match(reason, /^\S.{5,}$/, 'a one-line reason');
  assert.equal(status.pending, 0);
  assert.equal(status.failed, errors.failed.length);

  const files = filesUnder(badInputs);
  assert.equal(status.embedded + listed.size, files.length, 'every file is accounted for');
  // Orientation samples and exotic-but-valid formats decode; truncated files do not.
  assert.match(listed.get(join(badInputs, 'pillow', 'truncated_jpeg.jpg')) ?? '', /cannot decode image/);
  t.diagnostic(
    `${files.length} files: ${status.embedded} embedded, ${errors.failed.length} failed, ${errors.skipped.length} not images, in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
});

test('generated bad cases: empty, wrong extension, bomb, deleted or changed after the scan', async (t) => {
  const dir = tempDir(t);
  const photos = join(dir, 'photos');
  mkdirSync(photos);
  await writeSolidJpeg(join(photos, 'good.jpg'), [200, 30, 30]);
  copyFileSync(join(photos, 'good.jpg'), join(photos, 'jpeg-named.png'));
  writeFileSync(join(photos, 'empty.jpg'), '');
  await writeSolidJpeg(join(photos, 'deleted-later.jpg'), [30, 200, 30]);
  await writeSolidJpeg(join(photos, 'changed-later.jpg'), [30, 30, 200]);
  // 12000 × 12000 = 144 MP: over a 100 MP cap, yet a tiny PNG.
  await sharp({ create: { width: 12000, height: 12000, channels: 3, background: '#888' } })
    .png({ compressionLevel: 9 })
    .toFile(join(photos, 'bomb.png'));
  await sharp({ create: { width: 64, height: 48, channels: 4, background: { r: 0, g: 0, b: 255, alpha: 0.5 } } })
    .webp()
    .toFile(join(photos, 'alpha.webp'));
  await sharp({ create: { width: 64, height: 48, channels: 3, background: '#0f0' } })
    .tiff()
    .toFile(join(photos, 'plain.tif'));
  await sharp({ create: { width: 64, height: 48, channels: 3, background: '#f00' } })
    .avif()
    .toFile(join(photos, 'red.avif'));

  const lib = ['--library', join(dir, 'library'), '--model', models.tinyClip];
  assert.equal((await runCli([...lib, 'scan', photos])).code, 0);
  rmSync(join(photos, 'deleted-later.jpg'));
  await writeSolidJpeg(join(photos, 'changed-later.jpg'), [30, 30, 200], 500, 400);
  const embed = await runCli([...lib, 'embed', '--max-pixels', '100000000']);
  assert.equal(embed.code, 0, embed.stderr);

  const errors = JSON.parse((await runCli([...lib, 'errors', '--json'])).stdout) as {
    failed: { path: string; reason: string }[];
    skipped: { path: string; reason: string }[];
  };
  const reasons = Object.fromEntries([...errors.failed, ...errors.skipped].map((f) => [f.path.slice(photos.length + 1), f.reason]));
  assert.deepEqual(Object.keys(reasons).sort(), ['bomb.png', 'deleted-later.jpg', 'empty.jpg']);
  assert.match(reasons['bomb.png'], /12000×12000 \(144\.0 MP\), over the 100\.0 MP limit/);
  assert.match(reasons['deleted-later.jpg'], /ENOENT/);
  assert.match(reasons['empty.jpg'], /empty/);

  // The changed file is recorded with the size it had when it was embedded.
  const status = JSON.parse((await runCli([...lib, 'status', '--json'])).stdout);
  assert.equal(status.embedded, 6);
  const again = await runCli([...lib, 'index', photos]);
  assert.match(again.stderr, /0 new, 0 changed, 7 unchanged, 1 removed; 1 file is not an image/);

  // Retrying: the bomb goes through once the cap is raised; the deleted file is gone from the list.
  const retry = await runCli([...lib, 'embed', '--retry-failed', '--max-pixels', '200000000']);
  assert.equal(retry.code, 0, retry.stderr);
  const after = JSON.parse((await runCli([...lib, 'errors', '--json'])).stdout);
  assert.deepEqual(after.failed, []);
  assert.equal(JSON.parse((await runCli([...lib, 'status', '--json'])).stdout).embedded, 7);
});
