// The catalogue locks of the PostgreSQL backend: session-level advisory locks,
// each lock on a connection of its own, so the server releases it the moment
// its holder's connection ends (a killed process, a lost machine). The
// connection's application_name says who holds it ("picsift repair pid 4711 on
// host-a"), which is how a refused process names the holder. A lock whose
// connection breaks (a database restart) is taken again once the database answers.
import type pg from 'pg';
import type { CatalogLock, LockMode } from '../ports.js';
import { CatalogBusyError } from '../types.js';
import type { PgConnection } from './connection.js';
import { LOCK_ALONE, LOCK_CLASS, LOCK_REEMBED, LOCK_SCAN } from './lock-keys.js';

interface Need {
  key: number;
  shared: boolean;
}

/**
 * 'embed' workers share ALONE; a scan is alone among scans and shares ALONE; so is
 * a reembed among reembeds; 'alone' excludes everyone.
 */
const NEEDS: Record<LockMode, Need[]> = {
  embed: [{ key: LOCK_ALONE, shared: true }],
  reembed: [
    { key: LOCK_REEMBED, shared: false },
    { key: LOCK_ALONE, shared: true },
  ],
  scan: [
    { key: LOCK_SCAN, shared: false },
    { key: LOCK_ALONE, shared: true },
  ],
  alone: [{ key: LOCK_ALONE, shared: false }],
};

/** Takes every advisory lock `mode` needs on `client`, or says who holds the first one refused. */
async function takeAll(client: pg.Client, mode: LockMode): Promise<{ refused: string } | null> {
  for (const need of NEEDS[mode]) {
    // The holder may let go between the refusal and the look-up: then try again.
    for (let attempt = 0; ; attempt++) {
      const fn = need.shared ? 'pg_try_advisory_lock_shared' : 'pg_try_advisory_lock';
      const { rows } = await client.query<{ ok: boolean }>(`SELECT ${fn}($1, $2) AS ok`, [LOCK_CLASS, need.key]);
      if (rows[0].ok) break;
      const holders = await holdersOf(client, need.key);
      if (holders.length > 0 || attempt >= 3) return { refused: holders.join(', ') || 'a session that has since ended' };
    }
  }
  return null;
}

/** The sessions holding lock `key` in this database, by application_name (else pid and address). */
async function holdersOf(client: pg.Client, key: number): Promise<string[]> {
  const { rows } = await client.query<{ pid: number; name: string | null; addr: string | null }>(
    `SELECT DISTINCT a.pid, a.application_name AS name, host(a.client_addr) AS addr
     FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.granted AND l.pid <> pg_backend_pid()
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid AND l.objsubid = 2
     ORDER BY a.pid`,
    [LOCK_CLASS, key],
  );
  return rows.map((r) => r.name || `PostgreSQL session ${r.pid}${r.addr ? ` from ${r.addr}` : ''}`);
}

export async function takeLock(
  db: PgConnection,
  mode: LockMode,
  purpose: string,
  onWait: ((message: string) => void) | undefined,
): Promise<CatalogLock> {
  const { client, refusal } = await connectAndTake(db, mode, purpose);
  if (refusal) {
    await client.end().catch(() => {});
    throw new CatalogBusyError(`another picsift process (${refusal.refused}) is using catalogue ${db.location}; wait for it to finish`);
  }
  return new HeldLock(db, mode, purpose, client, onWait);
}

/** A lock connection and the outcome of taking `mode`'s locks on it, retried whole if the connection breaks. */
function connectAndTake(
  db: PgConnection,
  mode: LockMode,
  purpose: string,
): Promise<{ client: pg.Client; refusal: { refused: string } | null }> {
  return db.retrying(async () => {
    const client = await db.dedicatedClient(purpose);
    try {
      return { client, refusal: await takeAll(client, mode) };
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
  });
}

class HeldLock implements CatalogLock {
  private released = false;

  constructor(
    private readonly db: PgConnection,
    private readonly mode: LockMode,
    private readonly purpose: string,
    private client: pg.Client,
    private readonly onWait: ((message: string) => void) | undefined,
  ) {
    this.watch();
  }

  private watch(): void {
    this.client.once('end', () => {
      if (!this.released) void this.retake();
    });
  }

  /** The connection (and with it the lock) was lost: take it again once the database answers. */
  private async retake(): Promise<void> {
    try {
      const { client, refusal } = await connectAndTake(this.db, this.mode, this.purpose);
      if (refusal || this.released) {
        await client.end().catch(() => {});
        if (refusal)
          this.onWait?.(`lost the ${this.mode} lock on catalogue ${this.db.location} while it was away: ${refusal.refused} took it`);
        return;
      }
      this.client = client;
      this.watch();
    } catch {
      // The catalogue was closed meanwhile: nothing to hold.
    }
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    // Ending the session releases its advisory locks.
    await this.client.end().catch(() => {});
  }
}
