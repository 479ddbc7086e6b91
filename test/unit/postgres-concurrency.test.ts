// What only a shared PostgreSQL catalogue meets: transactions that commit out of
// id order, several workers claiming from one queue, workers that stop or die
// holding claims, machines migrating a new catalogue at once, and the database
// restarting under running operations. All against a real server.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openCatalog } from '../../src/catalog/open-catalog.js';
import type { Catalog } from '../../src/catalog/ports.js';
import { NO_EXIF, type EmbeddedImage, type ImageRecord, type StoredVector } from '../../src/catalog/types.js';
import { vectorToBlob } from '../../src/util/vectors.js';
import { PostgresServer } from '../postgres-server.js';

let server: PostgresServer;
let libraryDir: string;
before(async () => {
  server = await PostgresServer.start();
  libraryDir = mkdtempSync(join(tmpdir(), 'picsift-pg-'));
});
after(async () => {
  await server?.dispose();
  rmSync(libraryDir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function open(t: TestContext, url: string, onWait?: (message: string) => void): Promise<Catalog> {
  const catalog = await openCatalog({ url, libraryDir }, { onWait });
  t.after(() => catalog.close());
  return catalog;
}

/** A raw connection, for what the ports cannot do: hold a transaction open, age a lease. */
async function raw(t: TestContext, url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  t.after(() => client.end().catch(() => {}));
  return client;
}

/** A catalogue with a 2-d model and `n` pending images /img/0000.jpg…, in a fresh database. */
async function library(t: TestContext, n: number, onWait?: (message: string) => void): Promise<{ url: string; catalog: Catalog }> {
  const url = await server.createDatabase();
  const catalog = await open(t, url, onWait);
  await catalog.models.claimModel({ id: 'test-model', dtype: 'fp32', dims: 2 });
  const files = Array.from({ length: n }, (_, i) => ({
    path: `/img/${String(i).padStart(4, '0')}.jpg`,
    size: 10,
    mtimeMs: 1e12,
    format: 'jpg',
  }));
  await catalog.scans.registerFiles(files, await catalog.scans.beginScan());
  return { url, catalog };
}

const angle = (x: number): Float32Array => Float32Array.of(Math.cos(x), Math.sin(x));
const embedded = (r: ImageRecord, vector = angle(r.id)): EmbeddedImage => ({
  id: r.id,
  size: r.size,
  mtimeMs: r.mtimeMs,
  vector,
  width: 1,
  height: 1,
  contentHash: `h${r.id}`,
  exif: NO_EXIF,
});

async function flat(pages: AsyncIterable<StoredVector[]>): Promise<StoredVector[]> {
  const out: StoredVector[] = [];
  for await (const page of pages) out.push(...page);
  return out;
}

test('a vector committed out of transaction-id order is in the next tail, never skipped', async (t) => {
  const { url, catalog } = await library(t, 2);
  const [a, b] = (await catalog.images.get([1, 2])).values();
  // Transaction A embeds image 1 and stays open…
  const txA = await raw(t, url);
  await txA.query('BEGIN');
  await txA.query(`UPDATE images SET status = 'embedded', content_hash = 'ha' WHERE id = $1`, [a.id]);
  const positionA = Number(
    (
      await txA.query('INSERT INTO vectors (space, image_id, vector) VALUES (1, $1, $2) RETURNING position::text', [
        a.id,
        vectorToBlob(angle(1)),
      ])
    ).rows[0].position,
  );
  // …while B, a later transaction, embeds image 2 through the queue and commits.
  const queue = catalog.embedQueue();
  t.after(() => queue.close());
  const claimed = await queue.claim(10);
  assert.deepEqual(
    claimed.map((r) => r.id),
    [b.id],
    'image 1 is locked by A: skipped, not waited for',
  );
  assert.deepEqual(await queue.commit([embedded(b)], []), { embedded: 1, failed: 0, lost: 0 });
  const [vectorB] = await flat(catalog.vectors.tail(0));
  assert.ok(vectorB.position > positionA, 'B has the larger transaction id but committed first');

  // A watermark of "the largest position seen" would be past A's vector for good.
  const naiveWatermark = vectorB.position + 1;
  const read = await catalog.vectors.readForIndex(0);
  assert.ok(read.upTo <= positionA, `upTo ${read.upTo} stays at or below the open transaction's ${positionA}`);
  assert.deepEqual(await flat(read.pages), [], 'neither vector is below upTo: B waits for the next tail with A');

  await txA.query('COMMIT');
  const next = await flat(catalog.vectors.tail(read.upTo));
  assert.deepEqual(next.map((v) => v.id).sort(), [a.id, b.id]);
  assert.ok(!(await flat(catalog.vectors.tail(naiveWatermark))).some((v) => v.id === a.id), 'the naive watermark would have skipped A');
  assert.equal(await catalog.vectors.countBelow(read.upTo), 0);
  const after = await catalog.vectors.readForIndex(read.upTo);
  assert.deepEqual((await flat(after.pages)).map((v) => v.id).sort(), [a.id, b.id]);
});

test('readForIndex pages come from one snapshot on a dedicated connection, released when done or abandoned', async (t) => {
  const { url, catalog } = await library(t, 5);
  const queue = catalog.embedQueue();
  t.after(() => queue.close());
  await queue.commit(
    (await queue.claim(5)).map((r) => embedded(r)),
    [],
  );
  const admin = await raw(t, url);
  const readers = async () =>
    Number((await admin.query(`SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'picsift index read%'`)).rows[0].count);

  const read = await catalog.vectors.readForIndex(0, 2);
  assert.equal(await readers(), 1);
  // Changes after the snapshot are not seen by its pages (and are in the next tail).
  assert.equal((await catalog.maintenance.forget('/img/0000.jpg')).length, 1);
  assert.equal((await flat(read.pages)).length, 5);
  assert.equal(await readers(), 0);

  const abandoned = await catalog.vectors.readForIndex(0, 2);
  for await (const page of abandoned.pages) {
    assert.equal(page.length, 2);
    break;
  }
  assert.equal(await readers(), 0);
  await catalog.vectors.readForIndex(0, 2); // never iterated: ended by close()
  assert.equal(await readers(), 1);
  await catalog.close();
  assert.equal(await readers(), 0);
});

test('workers claiming from one queue at once never claim the same image, and embed each exactly once', async (t) => {
  const { url, catalog } = await library(t, 300);
  const workers = await Promise.all([1, 2, 3, 4].map(() => open(t, url)));
  const claimedBy = await Promise.all(
    workers.map(async (worker, w) => {
      const queue = worker.embedQueue({ worker: `worker ${w}` });
      const mine: number[] = [];
      try {
        for (let batch = await queue.claim(7); batch.length > 0; batch = await queue.claim(7)) {
          mine.push(...batch.map((r) => r.id));
          assert.deepEqual(
            batch.map((r) => r.id),
            [...batch.map((r) => r.id)].sort((x, y) => x - y),
          );
          await sleep(Math.random() * 5);
          assert.deepEqual(
            await queue.commit(
              batch.map((r) => embedded(r)),
              [],
            ),
            { embedded: batch.length, failed: 0, lost: 0 },
          );
        }
      } finally {
        await queue.close();
      }
      return mine;
    }),
  );
  const all = claimedBy.flat();
  assert.equal(new Set(all).size, all.length, 'no image was claimed twice');
  assert.equal(all.length, 300);
  assert.ok(claimedBy.filter((ids) => ids.length > 0).length > 1, 'the work was shared');
  assert.deepEqual(await catalog.images.counts(), { images: 300, embedded: 300, pending: 0, failed: 0 });
  assert.equal((await flat(catalog.vectors.tail(0))).length, 300);
  assert.deepEqual(await catalog.maintenance.verify(), []);
});

test('a worker that stops renewing loses its claims once they expire; its late commit counts them as lost', async (t) => {
  const { url, catalog } = await library(t, 5);
  const stalled = catalog.embedQueue({ leaseMs: 60_000, worker: 'stalled' });
  const other = (await open(t, url)).embedQueue({ worker: 'other' });
  t.after(() => Promise.all([stalled.close(), other.close()]));
  const claims = await stalled.claim(5);
  assert.equal(claims.length, 5);
  assert.deepEqual(await other.claim(5), [], 'held by a live worker');
  // The stalled worker renews every 20 s; its leases run out before it does.
  await (await raw(t, url)).query(`UPDATE images SET lease_until = now() - interval '1 second' WHERE lease_owner LIKE 'stalled %'`);
  const taken = await other.claim(5);
  assert.deepEqual(
    taken.map((r) => r.id),
    claims.map((r) => r.id),
  );
  assert.deepEqual(
    await stalled.commit(
      claims.map((r) => embedded(r, angle(0))),
      [],
    ),
    { embedded: 0, failed: 0, lost: 5 },
  );
  assert.deepEqual(
    await other.commit(
      taken.slice(0, 4).map((r) => embedded(r, angle(1))),
      [{ id: taken[4].id, reason: 'x' }],
    ),
    {
      embedded: 4,
      failed: 1,
      lost: 0,
    },
  );
  const vectors = await flat(catalog.vectors.tail(0));
  assert.equal(vectors.length, 4);
  assert.ok(
    vectors.every((v) => v.vector[0] === angle(1)[0]),
    'only the live worker’s vectors were written',
  );
});

test('leases are renewed while a worker runs, and a killed worker’s claims go to others when they expire', async (t) => {
  const { url, catalog } = await library(t, 6);
  const slow = catalog.embedQueue({ leaseMs: 900 });
  const other = (await open(t, url)).embedQueue();
  t.after(() => Promise.all([slow.close(), other.close()]));
  const held = await slow.claim(3);
  await sleep(2000);
  const rest = await other.claim(10);
  assert.deepEqual(
    rest.map((r) => r.id),
    [4, 5, 6],
    'renewed claims are not taken over',
  );
  assert.deepEqual(
    await slow.commit(
      held.map((r) => embedded(r)),
      [],
    ),
    { embedded: 3, failed: 0, lost: 0 },
  );
  await other.close();

  await catalog.scans.registerFiles(
    [7, 8].map((i) => ({ path: `/img/late-${i}.jpg`, size: 1, mtimeMs: 1, format: 'jpg' })),
    99,
  );
  const dying = await claimInChild(url, 2000);
  const late = catalog.embedQueue();
  t.after(() => late.close());
  assert.deepEqual(await late.claim(10), [], 'the claims of the dead worker are still live');
  await sleep(2300);
  const rescued = await late.claim(10);
  assert.deepEqual(rescued.map((r) => r.id).sort(), [...dying].sort());
  assert.deepEqual(
    await late.commit(
      rescued.map((r) => embedded(r)),
      [],
    ),
    { embedded: dying.length, failed: 0, lost: 0 },
  );
  assert.deepEqual(dying, [4, 5, 6, 7, 8], 'what the other worker gave back on close, and the new files');
  assert.deepEqual(await catalog.images.counts(), { images: 8, embedded: 8, pending: 0, failed: 0 });
});

/** Claims everything pending in another process, which is then killed with SIGKILL; returns the ids it held. */
async function claimInChild(url: string, leaseMs: number): Promise<number[]> {
  const module = new URL('../../src/catalog/open-catalog.js', import.meta.url).href;
  const script = `
    const { openCatalog } = await import(${JSON.stringify(module)});
    const catalog = await openCatalog({ url: process.argv[1], libraryDir: '/nonexistent' });
    const claims = await catalog.embedQueue({ leaseMs: Number(process.argv[2]) }).claim(100);
    console.log(JSON.stringify(claims.map((r) => r.id)));
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, url, String(leaseMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const ids = JSON.parse((await lines.next()).value as string) as number[];
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  assert.ok(ids.length > 0);
  return ids;
}

test('four machines opening a new catalogue at once migrate it once', async (t) => {
  const url = await server.createDatabase();
  const catalogs = await Promise.all([1, 2, 3, 4].map(() => open(t, url)));
  const identities = new Set(await Promise.all(catalogs.map((c) => c.identity())));
  assert.equal(identities.size, 1, 'one catalogue, one identity');
  const admin = await raw(t, url);
  assert.deepEqual((await admin.query('SELECT version FROM schema_migrations')).rows, [{ version: 1 }]);
  assert.equal(Number((await admin.query(`SELECT count(*) FROM meta WHERE key = 'catalog_id'`)).rows[0].count), 1);
  await Promise.all(catalogs.map((c, i) => c.models.claimModel({ id: `model-${i % 2}`, dtype: 'fp32', dims: 2 }).catch(() => 'refused')));
  assert.equal((await catalogs[0].maintenance.settings()).spaces.length, 1, 'two machines claiming a model at once: one wins');
});

test('a database restart does not crash a worker: operations wait, tell onWait, and finish when it is back', async (t) => {
  const messages: string[] = [];
  const { url, catalog } = await library(t, 4, (m) => messages.push(m));
  const queue = catalog.embedQueue();
  t.after(() => queue.close());
  const claims = await queue.claim(10);
  await queue.commit([embedded(claims[0])], []);
  const lock = await catalog.lock('embed', 'embed');
  t.after(() => lock.release());
  const read = await catalog.vectors.readForIndex(0, 1);

  await server.kill('immediate');
  const commit = queue.commit(
    claims.slice(1).map((r) => embedded(r)),
    [],
  );
  const counts = catalog.images.counts();
  await sleep(1500);
  assert.equal(messages.length, 1, messages.join('\n'));
  assert.match(
    messages[0],
    /^catalogue postgres:\/\/postgres@127\.0\.0\.1:\d+\/\w+ is not answering \(.+\); waiting for it, then retrying$/,
  );
  await server.start();

  assert.deepEqual(await commit, { embedded: 3, failed: 0, lost: 0 });
  assert.equal((await counts).images, 4);
  assert.equal(messages.length, 2, messages.join('\n'));
  assert.match(messages[1], /answers again/);
  // The snapshot read's connection died with the server: it goes on from where it was.
  assert.deepEqual(
    (await flat(read.pages)).map((v) => v.id),
    [claims[0].id],
  );
  assert.deepEqual(await catalog.images.counts(), { images: 4, embedded: 4, pending: 0, failed: 0 });
  // The embed lock is taken again once the database is back.
  const admin = await raw(t, url);
  for (let i = 0; ; i++) {
    const { rows } = await admin.query(
      `SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND a.application_name LIKE 'picsift embed%'`,
    );
    if (Number(rows[0].count) === 1) break;
    assert.ok(i < 100, 'the lock was not taken again');
    await sleep(100);
  }
});

/**
 * A TCP proxy to the server that, once armed, forwards the next COMMIT and then cuts
 * the connection before the server's answer comes back: a commit whose outcome the
 * client cannot know.
 */
async function commitCuttingProxy(t: TestContext): Promise<{ port: number; arm: () => void; cuts: () => number }> {
  const { createServer, connect } = await import('node:net');
  let armed = false;
  let cuts = 0;
  const sockets = new Set<import('node:net').Socket>();
  const proxy = createServer((client) => {
    const upstream = connect(server.port, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    upstream.pipe(client);
    client.on('data', (data: Buffer) => {
      upstream.write(data);
      if (armed && data.includes('COMMIT\0')) {
        armed = false;
        cuts++;
        client.unpipe();
        upstream.unpipe(client);
        // The server commits; the client never hears of it.
        setTimeout(() => {
          client.destroy();
          upstream.destroy();
        }, 200);
      }
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    proxy.close();
    for (const socket of sockets) socket.destroy();
  });
  const address = proxy.address();
  assert.ok(address && typeof address === 'object');
  return { port: address.port, arm: () => (armed = true), cuts: () => cuts };
}

test('a commit whose answer is lost is retried whole: its images count as lost, never embedded twice', async (t) => {
  const { url } = await library(t, 3);
  const proxy = await commitCuttingProxy(t);
  const messages: string[] = [];
  const viaProxy = await open(t, url.replace(`:${server.port}/`, `:${proxy.port}/`), (m) => messages.push(m));
  const queue = viaProxy.embedQueue();
  t.after(() => queue.close());
  const claims = await queue.claim(10);
  proxy.arm();
  const outcome = await queue.commit(
    claims.map((r) => embedded(r)),
    [],
  );
  assert.equal(proxy.cuts(), 1);
  assert.deepEqual(outcome, { embedded: 0, failed: 0, lost: 3 }, 'the first try committed them; the retry finds them no longer held');
  assert.deepEqual(await viaProxy.images.counts(), { images: 3, embedded: 3, pending: 0, failed: 0 });
  assert.equal((await flat(viaProxy.vectors.tail(0))).length, 3);
  assert.deepEqual(await viaProxy.maintenance.verify(), []);
  assert.equal(messages.length, 2, messages.join('\n'));
});
