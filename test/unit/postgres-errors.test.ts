// A PostgreSQL catalogue that cannot be opened says so in one line: which URL
// (password masked), what is wrong and what to do. Against a real server, and a
// port where none listens.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import pg from 'pg';
import { openCatalog } from '../../src/catalog/open-catalog.js';
import { CatalogUnavailableError } from '../../src/catalog/types.js';
import { PostgresServer } from '../postgres-server.js';

let server: PostgresServer;
before(async () => {
  server = await PostgresServer.start();
});
after(async () => {
  await server?.dispose();
});

/** Asserts that opening `url` fails with one line matching `pattern` and without the password. */
async function refused(url: string, pattern: RegExp, options: { mustExist?: boolean } = {}): Promise<string> {
  let message = '';
  await assert.rejects(openCatalog({ url, libraryDir: '/nonexistent' }, options), (err: Error) => {
    assert.ok(err instanceof CatalogUnavailableError, String(err));
    message = err.message;
    return true;
  });
  assert.match(message, pattern);
  assert.doesNotMatch(message, /s3cret/);
  assert.doesNotMatch(message, /\n/);
  return message;
}

async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

test('no server listening: connection refused, naming the masked URL', async () => {
  const port = await closedPort();
  await refused(
    `postgres://picsift:s3cret@127.0.0.1:${port}/photos`,
    new RegExp(`^catalogue postgres://picsift:\\*\\*\\*@127\\.0\\.0\\.1:${port}/photos: connection refused; is PostgreSQL running`),
  );
});

test('a login the server refuses', async () => {
  await refused(
    server.url('postgres', 'nobody:s3cret'),
    /^catalogue postgres:\/\/nobody:\*\*\*@.*: PostgreSQL refused the login \(role "nobody" does not exist\); check the user and password/,
  );
});

test('a database that does not exist: how to create it', async () => {
  await refused(
    server.url('no_such_db'),
    /: database "no_such_db" does not exist; create it with `createdb no_such_db` \(or CREATE DATABASE no_such_db\)/,
  );
});

test('mustExist refuses to create a catalogue in an empty database, and leaves it empty', async () => {
  const url = await server.createDatabase();
  await refused(url, /holds no picsift catalogue yet; check --catalog/, { mustExist: true });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    assert.equal((await client.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`)).rows[0].n, 0);
  } finally {
    await client.end();
  }
  const catalog = await openCatalog({ url, libraryDir: '/nonexistent' });
  await catalog.close();
  const again = await openCatalog({ url, libraryDir: '/nonexistent' }, { mustExist: true });
  assert.equal(again.backend, 'postgres');
  await again.close();
});

test('a catalogue written by a newer picsift, and a database that is not UTF8', async () => {
  const url = await server.createDatabase();
  await (await openCatalog({ url, libraryDir: '/nonexistent' })).close();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('INSERT INTO schema_migrations (version) VALUES (99)');
  await client.end();
  await refused(url, /has schema version 99, newer than this picsift understands \(1\); upgrade picsift$/);

  await server.admin(`CREATE DATABASE latin ENCODING 'LATIN1' TEMPLATE template0`);
  await refused(server.url('latin'), /the database's encoding is LATIN1; picsift needs UTF8/);
});
