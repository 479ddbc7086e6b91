// Re-indexing the same folders re-embeds nothing unchanged; new, changed, touched,
// deleted, moved and forgotten files each get what a user expects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, renameSync, rmSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { models, runCli, tempDir, writeSolidJpeg } from './support.js';

test('incremental re-index: unchanged, new, changed, touched, deleted, moved, forgotten', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const photos = join(dir, 'photos');
  mkdirSync(join(photos, 'trip'), { recursive: true });
  await writeSolidJpeg(join(photos, 'red.jpg'), [230, 20, 20]);
  await writeSolidJpeg(join(photos, 'green.jpg'), [20, 220, 20]);
  await writeSolidJpeg(join(photos, 'blue.jpg'), [20, 20, 230]);
  await writeSolidJpeg(join(photos, 'trip', 'yellow.jpg'), [230, 230, 20]);
  const cli = (...args: string[]) => runCli(['--library', join(dir, 'library'), '--model', models.colorClip, ...args]);
  const search = async (q: string) =>
    JSON.parse((await cli('search-text', q, '--json', '-n', '10')).stdout).results as { id: number; path: string; score: number }[];

  assert.equal((await cli('index', photos)).code, 0);
  const again = await cli('index', photos);
  assert.match(again.stderr, /0 new, 0 changed, 4 unchanged, 0 removed/);
  assert.match(again.stderr, /nothing to embed/);

  // New file; changed content; same content with a new mtime; deleted; renamed.
  await writeSolidJpeg(join(photos, 'white.jpg'), [245, 245, 245]);
  await writeSolidJpeg(join(photos, 'green.jpg'), [20, 20, 20], 400, 300); // green.jpg now holds black
  utimesSync(join(photos, 'blue.jpg'), new Date(), new Date(Date.now() + 60_000));
  rmSync(join(photos, 'red.jpg'));
  const yellowId = (await search('yellow'))[0].id;
  renameSync(join(photos, 'trip', 'yellow.jpg'), join(photos, 'yellow-renamed.jpg'));

  const third = await cli('index', photos);
  assert.equal(third.code, 0, third.stderr);
  assert.match(third.stderr, /2 new, 1 changed, 1 unchanged, 2 removed/);
  assert.match(third.stderr, /embedded 3 images .*1 reused the vector of identical content/);

  const red = await search('red');
  assert.ok(
    red.every((r) => !r.path.endsWith('/red.jpg')),
    'a deleted file is never returned',
  );
  assert.ok((await search('black'))[0].path.endsWith('/green.jpg'), 'the changed file has its new vector');
  const yellow = (await search('yellow'))[0];
  assert.ok(yellow.path.endsWith('/yellow-renamed.jpg'));
  assert.notEqual(yellow.id, yellowId);

  const status = JSON.parse((await cli('status', '--json')).stdout);
  assert.deepEqual([status.images, status.embedded, status.pending, status.failed], [4, 4, 0, 0]);
  assert.equal((await cli('verify')).code, 0);

  // A copy under another folder reuses the vector; forgetting that folder removes it.
  mkdirSync(join(dir, 'copies'));
  copyFileSync(join(photos, 'white.jpg'), join(dir, 'copies', 'white-copy.jpg'));
  const copies = await cli('index', join(dir, 'copies'));
  assert.match(copies.stderr, /1 reused/);
  const forget = await cli('forget', join(dir, 'copies'));
  assert.equal(forget.code, 0, forget.stderr);
  assert.match(forget.stderr, /forgot 1 image under/);
  assert.ok((await search('white')).every((r) => !r.path.includes('/copies/')));
  assert.equal(JSON.parse((await cli('status', '--json')).stdout).images, 4);
});
