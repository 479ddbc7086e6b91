// Issue 10's promise for search servers: a running `serve` keeps its own ANN index
// current by itself. A vector committed by another process is found at once (the
// exact tail), and the server extends its index in the background, off the
// event loop, until the index holds every vector. SQLite, and PostgreSQL with two
// search servers (each with its own index) on one catalogue.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningServer } from '../src/server/serve.js';
import { PostgresServer } from './postgres-server.js';
import { serve } from './server-fixture.js';
import { COLOURS, models, runCli, tempDir, writeSolidJpeg } from './support.js';
import { getJson, until, type Status } from './watch-fixture.js';

let pg: PostgresServer;
before(async () => {
  pg = await PostgresServer.start();
});
after(async () => {
  await pg?.dispose();
});

const eager = { pollMs: 100, minTail: 1, maxLagMs: 0 };

async function searchPaths(server: RunningServer, q: string): Promise<string[]> {
  const body = await getJson<{ results: { path: string }[] }>(`${server.url}/api/search?q=${q}&k=20`);
  return body.results.map((r) => r.path);
}

async function caughtUp(server: RunningServer): Promise<Status> {
  return until('the index to hold every vector', 30_000, async () => {
    const s = await getJson<Status>(`${server.url}/api/status`);
    return s.indexed === s.embedded && s.index?.lastBuild ? s : undefined;
  });
}

async function photos(dir: string, colour: string, count: number, from = 0): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (let i = from; i < from + count; i++) await writeSolidJpeg(join(dir, `${colour}-${i}.jpg`), COLOURS[colour], 80 + i, 60);
}

test('serve extends its index by itself when another process commits vectors (SQLite)', { timeout: 120_000 }, async (t) => {
  const work = tempDir(t);
  const library = join(work, 'library');
  await photos(join(work, 'a'), 'blue', 6);
  assert.equal((await runCli(['--library', library, 'scan', join(work, 'a')])).code, 0);
  assert.equal((await runCli(['--library', library, '--model', models.colorClip, 'embed'])).code, 0);
  const server = await serve(t, { library, indexRefresh: eager });
  const first = await caughtUp(server);
  assert.equal(first.indexed, 6, 'a library without an index gets one');

  await photos(join(work, 'b'), 'red', 3);
  const indexed = await runCli(['--library', library, 'index', join(work, 'b')]);
  assert.equal(indexed.code, 0, indexed.stderr);
  // Found at once (the exact tail), before any refresh.
  assert.deepEqual(
    (await searchPaths(server, 'red')).slice(0, 3).sort(),
    [0, 1, 2].map((i) => join(work, 'b', `red-${i}.jpg`)),
  );

  // Vectors committed by another process without an index refresh: the server's refresher extends the index.
  await photos(join(work, 'c'), 'green', 4);
  assert.equal((await runCli(['--library', library, 'scan', join(work, 'c')])).code, 0);
  assert.equal((await runCli(['--library', library, 'embed'])).code, 0);
  assert.deepEqual(
    (await searchPaths(server, 'green')).slice(0, 4).sort(),
    [0, 1, 2, 3].map((i) => join(work, 'c', `green-${i}.jpg`)),
  );
  const last = await caughtUp(server);
  assert.equal(last.indexed, 13);
  assert.equal(last.embedded, 13);
});

test('two search servers on one PostgreSQL catalogue each keep their own index current', { timeout: 120_000 }, async (t) => {
  const work = tempDir(t);
  const url = await pg.createDatabase();
  await photos(join(work, 'a'), 'blue', 5);
  const indexed = await runCli([
    '--library',
    join(work, 'worker'),
    '--catalog',
    url,
    '--model',
    models.colorClip,
    'index',
    join(work, 'a'),
  ]);
  assert.equal(indexed.code, 0, indexed.stderr);
  const servers = [
    await serve(t, { library: join(work, 'search-1'), catalog: url, indexRefresh: eager }),
    await serve(t, { library: join(work, 'search-2'), catalog: url, indexRefresh: eager }),
  ];
  for (const server of servers) assert.equal((await caughtUp(server)).indexed, 5);

  // A worker elsewhere commits more: each server finds them at once and extends its own index.
  await photos(join(work, 'b'), 'yellow', 3);
  assert.equal((await runCli(['--library', join(work, 'worker'), '--catalog', url, 'scan', join(work, 'b')])).code, 0);
  assert.equal((await runCli(['--library', join(work, 'worker'), '--catalog', url, 'embed'])).code, 0);
  for (const server of servers) {
    assert.deepEqual(
      (await searchPaths(server, 'yellow')).slice(0, 3).sort(),
      [0, 1, 2].map((i) => join(work, 'b', `yellow-${i}.jpg`)),
    );
    const s = await caughtUp(server);
    assert.equal(s.indexed, 8);
  }
});
