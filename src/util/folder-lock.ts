// One writer per library folder. The lock is an exclusive transaction on a small
// SQLite file held for the writer's lifetime: the operating system releases it
// the moment the process dies, even by SIGKILL or power loss, so a resumed run
// never waits for a stale lock to time out (as mtime-based lock files must).
// Within one process the lock is re-entrant (counted): a command that takes the
// catalogue's lock and the folder's lock takes one lock when they are the same
// file (the SQLite catalogue lives in the library folder).
import Database from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export class LibraryBusyError extends Error {
  constructor(library: string, holder: string) {
    super(`another picsift process (${holder}) is writing library ${library}; wait for it to finish, or use another --library`);
    this.name = 'LibraryBusyError';
  }
}

interface Held {
  db: Database.Database;
  count: number;
}

/** Locks this process holds, by folder. */
const held = new Map<string, Held>();

export class WriterLock {
  private released = false;

  private constructor(private readonly folder: string) {}

  static acquire(libraryRoot: string, purpose: string): WriterLock {
    const folder = resolve(libraryRoot);
    const mine = held.get(folder);
    if (mine) {
      mine.count++;
      return new WriterLock(folder);
    }
    const db = new Database(join(folder, 'writer.lock'));
    const ownerFile = join(folder, 'writer.owner');
    try {
      db.pragma('busy_timeout = 0');
      // Rollback journal (not WAL) in EXCLUSIVE locking mode: the transaction
      // takes an OS file lock that no other connection can share.
      db.pragma('journal_mode = DELETE');
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE');
    } catch (err) {
      db.close();
      if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw err;
      let holder = 'unknown process';
      try {
        holder = readFileSync(ownerFile, 'utf8').trim();
      } catch {
        // The owner note is only for the message.
      }
      throw new LibraryBusyError(folder, holder);
    }
    writeFileSync(ownerFile, `pid ${process.pid}, ${purpose}, since ${new Date().toISOString()}\n`);
    held.set(folder, { db, count: 1 });
    return new WriterLock(folder);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    const mine = held.get(this.folder);
    if (!mine || --mine.count > 0) return;
    held.delete(this.folder);
    if (!mine.db.open) return;
    mine.db.exec('ROLLBACK');
    mine.db.close();
  }
}
