// One writer per library. The lock is an exclusive transaction on a small SQLite
// file held for the writer's lifetime: the operating system releases it the
// moment the process dies, even by SIGKILL or power loss, so a resumed run never
// waits for a stale lock to time out (as mtime-based lock files must).
import Database from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class LibraryBusyError extends Error {
  constructor(library: string, holder: string) {
    super(`another picsift process (${holder}) is writing library ${library}; wait for it to finish, or use another --library`);
    this.name = 'LibraryBusyError';
  }
}

export class WriterLock {
  private constructor(private readonly db: Database.Database) {}

  static acquire(libraryRoot: string, purpose: string): WriterLock {
    const db = new Database(join(libraryRoot, 'writer.lock'));
    const ownerFile = join(libraryRoot, 'writer.owner');
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
      throw new LibraryBusyError(libraryRoot, holder);
    }
    writeFileSync(ownerFile, `pid ${process.pid}, ${purpose}, since ${new Date().toISOString()}\n`);
    return new WriterLock(db);
  }

  release(): void {
    if (!this.db.open) return;
    this.db.exec('ROLLBACK');
    this.db.close();
  }
}
