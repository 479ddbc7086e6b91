// The PostgreSQL connections of one catalogue: a small pool for the ports'
// operations, dedicated clients where a session matters (locks, a snapshot), and
// the retry that keeps a worker alive through a database restart. Each port
// operation is one transaction (or one statement), so when the connection breaks
// it is retried whole once the database answers again; a commit whose outcome
// was unknown is then guarded by its WHERE clauses (see embed-queue.ts).
import { hostname } from 'node:os';
import pg from 'pg';
import { maskUrl } from '../open-catalog.js';
import { CatalogUnavailableError } from '../types.js';
import { isConnectionLoss, isTransactionConflict, reasonOf, unavailableError } from './errors.js';

/** The transaction a port operation runs in. */
export type Tx = Pick<pg.PoolClient, 'query'>;

const POOL_SIZE = 4;
const CONNECT_TIMEOUT_MS = 15_000;
const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 5_000;
const MAX_CONFLICT_RETRIES = 10;

function safeInteger(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`PostgreSQL returned ${text}, beyond JavaScript's exact integers`);
  return n;
}

/**
 * bigint columns (ids, sizes, times, counts) and xid8 positions as numbers, checked
 * to be exact; per connection, so other pg users in the process keep their parsers.
 */
function typeParsers(): pg.TypeOverrides {
  const types = new pg.TypeOverrides();
  // int8[] (1016) is not in pg's list of builtins, though its parser is.
  const int8Array = pg.types.getTypeParser(1016 as typeof pg.types.builtins.INT8);
  types.setTypeParser(pg.types.builtins.INT8, safeInteger);
  types.setTypeParser(5069 /* xid8 */, safeInteger);
  types.setTypeParser(1016 /* int8[] */, (text: string) => (int8Array(text) as string[]).map(safeInteger));
  return types;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A name for the connections of this process, shown in pg_stat_activity. */
export function applicationName(what: string): string {
  // PostgreSQL keeps 63 bytes of it.
  return `picsift ${what} pid ${process.pid} on ${hostname()}`.slice(0, 63);
}

export class PgConnection {
  readonly location: string;
  private readonly pool: pg.Pool;
  private readonly config: pg.ClientConfig;
  private waitingSince: number | null = null;
  private closed = false;

  private constructor(
    url: string,
    private readonly onWait: ((message: string) => void) | undefined,
  ) {
    this.location = maskUrl(url);
    this.config = { connectionString: url, types: typeParsers(), keepAlive: true, connectionTimeoutMillis: CONNECT_TIMEOUT_MS };
    this.pool = new pg.Pool({ ...this.config, max: POOL_SIZE, application_name: applicationName('catalogue'), allowExitOnIdle: true });
    // A connection that breaks emits 'error' on its client as well as failing the query
    // in flight; unheard, that event would crash the process. The pool listens on idle
    // clients (and re-emits here); a checked-out client has no listener of its own
    // (pg-pool removes it on acquire), so every client gets one at birth. The failed
    // query is where the loss is handled (retrying).
    this.pool.on('error', () => {});
    this.pool.on('connect', (client) => client.on('error', () => {}));
  }

  /** Connects once to check the server; a failure is one line naming the masked URL and the fix. */
  static async open(url: string, onWait?: (message: string) => void): Promise<PgConnection> {
    const connection = new PgConnection(url, onWait);
    try {
      const { rows } = await connection.pool.query<{ version: number; encoding: string }>(
        `SELECT current_setting('server_version_num')::int AS version, current_setting('server_encoding') AS encoding`,
      );
      const { version, encoding } = rows[0];
      if (version < 130000) {
        throw new CatalogUnavailableError(
          `catalogue ${connection.location}: PostgreSQL ${Math.floor(version / 10000)} is too old; picsift needs PostgreSQL 13 or newer`,
        );
      }
      if (encoding !== 'UTF8') {
        throw new CatalogUnavailableError(
          `catalogue ${connection.location}: the database's encoding is ${encoding}; picsift needs UTF8: CREATE DATABASE … ENCODING 'UTF8' TEMPLATE template0`,
        );
      }
    } catch (err) {
      await connection.pool.end();
      throw err instanceof CatalogUnavailableError ? err : unavailableError(err, url);
    }
    return connection;
  }

  /** One statement in its own transaction, retried whole if the connection breaks. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.retrying(() => this.pool.query<R>(sql, params));
  }

  /** One statement, tried once: for background work (lease renewal) that must not wait for the database. */
  queryOnce<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    if (this.closed) return Promise.reject(new CatalogUnavailableError(`catalogue ${this.location} is closed`));
    return this.pool.query<R>(sql, params);
  }

  /** `fn` in one transaction (BEGIN … COMMIT), retried whole on a lost connection or a conflict. */
  transaction<T>(fn: (tx: Tx) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    return this.retrying(async () => {
      const client = await this.pool.connect();
      let broken: Error | undefined;
      try {
        await client.query(begin);
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        if (isConnectionLoss(err)) broken = err as Error;
        else await client.query('ROLLBACK').catch((e: Error) => (broken = e));
        throw err;
      } finally {
        // A client whose connection broke is destroyed, not handed to the next operation.
        client.release(broken);
      }
    });
  }

  /** A connection of its own (not from the pool), for a session-level lock or a long snapshot. */
  async dedicatedClient(what: string): Promise<pg.Client> {
    return this.retrying(async () => {
      const client = new pg.Client({ ...this.config, application_name: applicationName(what) });
      // A lost connection also fails the next query, which is where it is handled.
      client.on('error', () => {});
      try {
        await client.connect();
      } catch (err) {
        await client.end().catch(() => {});
        throw err;
      }
      return client;
    });
  }

  /**
   * Runs `op`, and while the database does not answer, waits (backing off up to
   * 5 s) and runs it again; `onWait` hears once when waiting starts and once
   * when the database answers again.
   */
  async retrying<T>(op: () => Promise<T>): Promise<T> {
    let delay = FIRST_DELAY_MS;
    for (let conflicts = 0; ;) {
      if (this.closed) throw new CatalogUnavailableError(`catalogue ${this.location} is closed`);
      try {
        const result = await op();
        this.answered();
        return result;
      } catch (err) {
        if (this.closed) throw err;
        if (isTransactionConflict(err) && ++conflicts < MAX_CONFLICT_RETRIES) {
          await sleep(Math.random() * 20 * conflicts);
          continue;
        }
        if (!isConnectionLoss(err)) throw err;
        this.waiting(err);
        await sleep(delay * (0.75 + Math.random() / 2));
        delay = Math.min(delay * 2, MAX_DELAY_MS);
      }
    }
  }

  private waiting(err: unknown): void {
    if (this.waitingSince !== null) return;
    this.waitingSince = Date.now();
    this.onWait?.(`catalogue ${this.location} is not answering (${reasonOf(err)}); waiting for it, then retrying`);
  }

  private answered(): void {
    if (this.waitingSince === null) return;
    const seconds = ((Date.now() - this.waitingSince) / 1000).toFixed(1);
    this.waitingSince = null;
    this.onWait?.(`catalogue ${this.location} answers again (after ${seconds} s); continuing`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
