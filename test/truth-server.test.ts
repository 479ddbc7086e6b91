// The server tells the truth and never hangs (issue 15): a pipe in the library
// cannot exhaust the file-reading threads, non-finite numbers are refused,
// other web pages cannot drive the API, and a duplicates walk neither blocks
// other requests nor counts as an ordinary search.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { indexWithCli, rawGet, serve, writeColourPhotos } from './server-fixture.js';
import { models, runCli, sharedDir, tempDir } from './support.js';

test(
  'a catalogued photo replaced by a named pipe: every request about it answers at once, and others still work',
  { timeout: 60_000 },
  async (t) => {
    const dir = tempDir(t);
    const photos = join(dir, 'photos');
    await writeColourPhotos(photos, 2);
    const library = join(dir, 'lib');
    await indexWithCli(library, photos);
    const server = await serve(t, { library });
    const ids = JSON.parse((await rawGet(server.url, '/api/search?q=red&k=20')).text).results as { id: number; path: string }[];
    const victim = ids.find((r) => r.path.endsWith('red-0.jpg'))!;
    const other = ids.find((r) => r.path.endsWith('blue-1.jpg'))!;
    rmSync(victim.path);
    execFileSync('mkfifo', [victim.path]);
    // More requests than libuv has threads (4): none may hang, nor hold a thread.
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all([
        rawGet(server.url, `/api/images/${victim.id}/file`),
        rawGet(server.url, `/api/images/${victim.id}/thumbnail`),
        rawGet(server.url, `/api/images/${victim.id}/thumbnail?size=large`),
        rawGet(server.url, `/api/images/${victim.id}`),
      ]);
      assert.deepEqual(
        answers.map((a) => a.status),
        [404, 404, 404, 200],
      );
      assert.equal((answers[3].json() as { available: boolean }).available, false);
    }
    assert.equal((await rawGet(server.url, `/api/images/${other.id}/thumbnail`)).status, 200);
    assert.equal((await rawGet(server.url, `/api/images/${other.id}/file`)).status, 200);
  },
);

test('non-finite numbers are refused with a 400 naming the parameter', async (t) => {
  const dir = tempDir(t);
  await writeColourPhotos(join(dir, 'photos'), 1);
  await indexWithCli(join(dir, 'lib'), join(dir, 'photos'));
  const server = await serve(t, { library: join(dir, 'lib') });
  for (const [path, name] of [
    ['/api/search?q=red&k=Infinity', 'k'],
    ['/api/search?q=red&threshold=-Infinity', 'threshold'],
    ['/api/search?q=red&threshold=Infinity', 'threshold'],
    ['/api/similar/1?k=Infinity', 'k'],
    ['/api/duplicates?threshold=Infinity', 'threshold'],
  ]) {
    const r = await rawGet(server.url, path);
    assert.equal(r.status, 400, `${path}: ${r.text}`);
    assert.match((r.json() as { error: string }).error, new RegExp(`^${name}\\b`), path);
  }
});

test('requests from other web pages are refused; the page itself and programs are answered', async (t) => {
  const dir = tempDir(t);
  await writeColourPhotos(join(dir, 'photos'), 1);
  await indexWithCli(join(dir, 'lib'), join(dir, 'photos'));
  const server = await serve(t, { library: join(dir, 'lib') });
  const host = new URL(server.url).host;
  for (const headers of <Record<string, string>[]>[
    { 'sec-fetch-site': 'cross-site' },
    { 'sec-fetch-site': 'same-site' },
    { origin: 'https://evil.example' },
    { origin: 'null' },
  ]) {
    for (const path of ['/api/search?q=red', '/api/duplicates', '/api/images/1/thumbnail', '/api/status']) {
      const r = await rawGet(server.url, path, headers);
      assert.equal(r.status, 403, `${path} ${JSON.stringify(headers)}`);
      assert.match((r.json() as { error: string }).error, /^cross-(site|origin) request refused/);
    }
  }
  for (const headers of <Record<string, string>[]>[
    {},
    { 'sec-fetch-site': 'same-origin', origin: `http://${host}` },
    { 'sec-fetch-site': 'none' },
  ]) {
    assert.equal((await rawGet(server.url, '/api/search?q=red', headers)).status, 200, JSON.stringify(headers));
  }
});

test('a duplicates walk lets other requests through, and is limited apart from searches', { timeout: 180_000 }, async (t) => {
  const dir = tempDir(t);
  const library = join(dir, 'lib');
  const cifar = join(sharedDir, 'data', 'cifar10-test', 'test');
  assert.equal((await runCli(['--library', library, '--model', models.tinyClip, 'index', join(cifar, 'cat'), join(cifar, 'dog')])).code, 0);
  const server = await serve(t, { library, rateLimits: { duplicatesPerMinute: 3 } });
  let walkDone = false;
  const walk = rawGet(server.url, '/api/duplicates?threshold=0.99').then((r) => ((walkDone = true), r));
  // Requests made while the walk runs are answered before it ends.
  let answeredDuring = 0;
  for (let i = 0; i < 5 && !walkDone; i++) {
    const status = await rawGet(server.url, '/api/status');
    assert.equal(status.status, 200);
    if (!walkDone) answeredDuring++;
  }
  const first = await walk;
  assert.equal(first.status, 200);
  assert.ok(answeredDuring > 0, 'the event loop was free during the walk');
  // The same library state: the same answer, from the cache.
  assert.deepEqual((await rawGet(server.url, '/api/duplicates?threshold=0.99')).json(), first.json());
  assert.equal((await rawGet(server.url, '/api/duplicates?threshold=0.99')).status, 200);
  assert.equal((await rawGet(server.url, '/api/duplicates?threshold=0.99')).status, 429, 'the fourth walk in a minute');
  assert.equal((await rawGet(server.url, '/api/search?q=red')).status, 200, 'searches have their own budget');
});
