// One writer per library: a second embed exits at once with a clear message, while
// search and status keep working and see every committed vector.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { models, runCli, sharedDir, startCli, tempDir } from './support.js';

test('a second writer is refused at once; readers work during an embed', { timeout: 120_000 }, async (t) => {
  const library = tempDir(t);
  const lib = ['--library', library, '--model', models.tinyClip];
  const cifar = join(sharedDir, 'data', 'cifar10-test', 'test');
  // Enough images that the first embed is still running while the checks below are made.
  assert.equal((await runCli([...lib, 'scan', join(cifar, 'ship'), join(cifar, 'truck'), join(cifar, 'horse')])).code, 0);

  const first = startCli([...lib, 'embed', '--batch-size', '8']);
  // Wait until the first run has committed something.
  let status = { embedded: 0, images: 0 };
  while (status.embedded === 0) {
    await new Promise((r) => setTimeout(r, 100));
    status = JSON.parse((await runCli([...lib, 'status', '--json'])).stdout);
  }
  const started = Date.now();
  const second = await runCli([...lib, 'embed']);
  const waited = Date.now() - started;
  assert.equal(second.code, 1);
  assert.match(second.stderr, /another picsift process \(pid \d+, embed, since .*\) is writing library/);
  t.diagnostic(`second writer refused after ${waited} ms`);

  const search = await runCli([...lib, 'search-text', 'a ship', '--json', '-n', '5', '--all']);
  assert.equal(search.code, 0, search.stderr);
  assert.equal(JSON.parse(search.stdout).results.length, 5, 'search sees the vectors committed so far');
  assert.equal(first.child.exitCode, null, 'the first embed was still running during these checks');

  const done = await first.done;
  assert.equal(done.code, 0, done.stderr);
  const final = JSON.parse((await runCli([...lib, 'status', '--json'])).stdout);
  assert.deepEqual([final.embedded, final.pending], [3000, 0]);
});
