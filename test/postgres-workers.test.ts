// Workers on many machines, for real: `picsift embed` processes sharing one
// PostgreSQL catalogue are SIGKILLed at random moments and restarted, the
// database itself is killed and restarted, a running `serve` follows along, and
// `migrate` carries a library to PostgreSQL and back bit for bit.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import pg from 'pg';
import { openCatalog } from '../src/catalog/open-catalog.js';
import type { Catalog } from '../src/catalog/ports.js';
import type { CatalogRow } from '../src/catalog/types.js';
import { PostgresServer } from './postgres-server.js';
import { cosine, models, runCli, seededRandom, sharedDir, startCli, tempDir, vectorsByPath, type CliResult } from './support.js';

const cifar = join(sharedDir, 'data', 'cifar10-test', 'test');
let server: PostgresServer;

before(async () => {
  server = await PostgresServer.start();
});
after(() => server?.dispose());

/** Counts every vector insert per image, in the database itself: "embedded exactly once" is then a query. */
async function countInserts(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`
      CREATE TABLE vector_inserts (image_id bigint NOT NULL);
      CREATE FUNCTION count_vector_insert() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN INSERT INTO vector_inserts VALUES (NEW.image_id); RETURN NEW; END $$;
      CREATE TRIGGER count_vector_insert AFTER INSERT OR UPDATE OF vector ON vectors FOR EACH ROW EXECUTE FUNCTION count_vector_insert();`);
  } finally {
    await client.end();
  }
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

interface Worker {
  done: Promise<CliResult>;
  kill(): void;
  alive: boolean;
}

function worker(url: string, library: string): Worker {
  const run = startCli(['--catalog', url, '--library', library, '--model', models.tinyClip, 'embed', '--batch-size', '16', '--lease', '4']);
  const w: Worker = { done: run.done, kill: () => run.child.kill('SIGKILL'), alive: true };
  void run.done.then(() => (w.alive = false));
  return w;
}

/** The URL `serve` prints: "open http://127.0.0.1:PORT/". */
async function serveProcess(args: string[]): Promise<{ url: string; stop: () => Promise<CliResult> }> {
  const run = startCli([...args, 'serve', '--port', '0']);
  let stderr = '';
  run.child.stderr!.on('data', (d) => (stderr += d));
  for (let i = 0; i < 600 && !/open (http:\/\/\S+?)\//.test(stderr); i++) await new Promise((r) => setTimeout(r, 100));
  const url = /open (http:\/\/\S+?)\//.exec(stderr)?.[1];
  assert.ok(url, `serve did not start: ${stderr}`);
  return {
    url,
    stop: async () => {
      run.child.kill('SIGTERM');
      return run.done;
    },
  };
}

test(
  '3 workers and a serve on one catalogue, workers SIGKILLed 10 times: every image embedded exactly once, as one SQLite process would',
  { timeout: 600_000 },
  async (t) => {
    const dir = tempDir(t);
    const folders = ['cat', 'dog', 'ship', 'truck', 'horse'].map((c) => join(cifar, c));

    const reference = join(dir, 'reference');
    assert.equal((await runCli(['--library', reference, '--model', models.tinyClip, 'index', ...folders])).code, 0);
    const expected = await vectorsByPath(reference);
    assert.equal(expected.size, 5000);

    const url = await server.createDatabase();
    const scanned = await runCli(['--catalog', url, '--library', join(dir, 'scanner'), '--model', models.tinyClip, 'scan', ...folders]);
    assert.equal(scanned.code, 0, scanned.stderr);
    await countInserts(url);
    // The model is recorded by the first worker; the search server waits for it.
    const serve = await serveProcess(['--catalog', url, '--library', join(dir, 'server')]);
    t.after(() => serve.stop());

    const random = seededRandom(20261130);
    const workers = [0, 1, 2].map((i) => worker(url, join(dir, `worker-${i}`)));
    t.after(() => workers.forEach((w) => w.kill()));
    let kills = 0;
    while (kills < 10) {
      await new Promise((r) => setTimeout(r, 300 + random() * 1500));
      const live = workers.map((w, i) => [w, i] as const).filter(([w]) => w.alive);
      if (live.length === 0) break;
      const [victim, i] = live[Math.floor(random() * live.length)];
      victim.kill();
      await victim.done;
      kills++;
      workers[i] = worker(url, join(dir, `worker-${i}`));
    }
    const results = await Promise.all(workers.map((w) => w.done));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    t.diagnostic(`${kills} workers killed`);
    assert.ok(kills >= 8, `only ${kills} kills landed before the work was done`);

    const status = JSON.parse((await runCli(['--catalog', url, '--library', join(dir, 'scanner'), 'status', '--json'])).stdout);
    assert.deepEqual([status.images, status.embedded, status.pending, status.failed], [5000, 5000, 0, 0]);
    const twice = await query<{ image_id: number; n: number }>(
      url,
      'SELECT image_id, count(*)::int AS n FROM vector_inserts GROUP BY image_id HAVING count(*) <> 1',
    );
    assert.deepEqual(twice, [], 'no image was embedded twice');
    assert.equal((await query<{ n: number }>(url, 'SELECT count(DISTINCT image_id)::int AS n FROM vector_inserts'))[0].n, 5000);
    const verify = await runCli(['--catalog', url, '--library', join(dir, 'scanner'), 'verify']);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);

    const got = await vectorsByPath(dir, url);
    let worst = 1;
    for (const [path, vector] of expected) worst = Math.min(worst, cosine(vector, got.get(path)!));
    assert.ok(worst >= 0.9999, `worst cosine to the single-process SQLite run: ${worst}`);

    // The server, started before any vector existed, finds the last one committed, without a restart.
    const [last] = await query<{ id: number }>(url, `SELECT id FROM images ORDER BY embedded_at DESC, id DESC LIMIT 1`);
    const found = await fetch(`${serve.url}/api/search?q=photo&addImage=1000:${last.id}&k=1&all=1`).then(
      (r) => r.json() as Promise<{ results: { id: number }[] }>,
    );
    assert.equal(found.results[0]?.id, Number(last.id));
    assert.equal((await serve.stop()).code, 0);
  },
);

test(
  'PostgreSQL killed and restarted in the middle of a run: the workers wait, say so once, and finish with nothing lost',
  { timeout: 300_000 },
  async (t) => {
    const dir = tempDir(t);
    const url = await server.createDatabase();
    const folders = ['airplane', 'bird'].map((c) => join(cifar, c));
    assert.equal((await runCli(['--catalog', url, '--library', join(dir, 's'), '--model', models.tinyClip, 'scan', ...folders])).code, 0);
    await countInserts(url);
    const workers = [0, 1].map((i) => worker(url, join(dir, `w${i}`)));
    t.after(() => workers.forEach((w) => w.kill()));
    for (;;) {
      await new Promise((r) => setTimeout(r, 200));
      const [{ n }] = await query<{ n: number }>(url, `SELECT count(*)::int AS n FROM images WHERE status = 'embedded'`);
      if (n > 100) break;
    }
    await server.kill('immediate');
    await new Promise((r) => setTimeout(r, 3000));
    await server.start();
    const results = await Promise.all(workers.map((w) => w.done));
    for (const r of results) {
      assert.equal(r.code, 0, r.stderr);
      assert.equal((r.stderr.match(/not answering/g) ?? []).length <= 1, true, r.stderr);
    }
    assert.ok(
      results.some((r) => /not answering/.test(r.stderr)),
      `a worker said it was waiting: ${results.map((r) => r.stderr).join('\n')}`,
    );
    const [{ embedded, pending }] = await query<{ embedded: number; pending: number }>(
      url,
      `SELECT count(*) FILTER (WHERE status = 'embedded')::int AS embedded, count(*) FILTER (WHERE status = 'pending')::int AS pending FROM images`,
    );
    assert.deepEqual([embedded, pending], [2000, 0]);
    assert.deepEqual(await query(url, 'SELECT image_id FROM vector_inserts GROUP BY image_id HAVING count(*) <> 1'), []);
  },
);

async function allRows(catalog: Catalog): Promise<CatalogRow[]> {
  const rows: CatalogRow[] = [];
  for (let after = 0; ;) {
    const page = await catalog.maintenance.readRows(after, 500);
    if (page.length === 0) return rows;
    rows.push(...page);
    after = page[page.length - 1].id;
  }
}

/** A row with its vectors as bytes, for a bit-for-bit comparison. */
const comparable = (r: CatalogRow) => ({
  ...r,
  vectors: r.vectors.map((v) => ({ space: v.space, bytes: Buffer.from(v.vector.buffer).toString('hex') })),
});

test('migrate carries a library SQLite → PostgreSQL → SQLite with every row and vector bit-identical', { timeout: 300_000 }, async (t) => {
  const dir = tempDir(t);
  const source = join(dir, 'source');
  // Embedded, failed and skipped files alike, from the bad inputs.
  assert.equal((await runCli(['--library', source, '--model', models.tinyClip, 'index', join(sharedDir, 'data', 'bad-inputs')])).code, 0);
  const url = await server.createDatabase();
  const there = await runCli(['--library', source, 'migrate', '--to', url]);
  assert.equal(there.code, 0, there.stderr);
  assert.match(there.stderr, /copied [\d,]+ images to postgres:\/\//);
  const back = await runCli(['--catalog', url, '--library', join(dir, 'unused'), 'migrate', '--to', join(dir, 'back')]);
  assert.equal(back.code, 0, back.stderr);

  const [a, b] = await Promise.all([openCatalog({ libraryDir: source }), openCatalog({ libraryDir: join(dir, 'back') })]);
  try {
    const [rowsA, rowsB] = await Promise.all([allRows(a), allRows(b)]);
    assert.ok(rowsA.length > 200);
    assert.deepEqual(rowsB.map(comparable), rowsA.map(comparable));
    assert.deepEqual(await b.maintenance.settings(), await a.maintenance.settings());
    assert.notEqual(await b.identity(), await a.identity(), 'a copy is another catalogue (its indexes are its own)');
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
  // The copy searches as the original does once its index is built.
  assert.equal((await runCli(['--library', join(dir, 'back'), 'build-index'])).code, 0);
  const query = ['search-text', 'a photo', '--json', '-n', '5', '--all'];
  assert.deepEqual(
    JSON.parse((await runCli(['--library', join(dir, 'back'), ...query])).stdout).results,
    JSON.parse((await runCli(['--library', source, ...query])).stdout).results,
  );
});

test('two machines starting on a new database at once: one schema, both work', async (t) => {
  const dir = tempDir(t);
  const url = await server.createDatabase();
  const runs = await Promise.all(
    [0, 1, 2].map((i) => runCli(['--catalog', url, '--library', join(dir, `m${i}`), '--model', models.tinyClip, 'embed'])),
  );
  for (const r of runs) {
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /nothing to embed/);
  }
  assert.deepEqual(await query(url, 'SELECT count(*)::int AS n FROM schema_migrations'), [{ n: 1 }]);
});
