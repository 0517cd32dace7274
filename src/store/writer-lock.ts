// One writer per state file. Two daemons reconciling into one snapshot would each believe
// the other's creates are theirs to make: duplicates. The lock is an exclusive SQLite lock on
// a sidecar file, so the kernel drops it when the holder dies (even by SIGKILL) — no stale
// pid files to clean up after a crash.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import DatabaseConstructor, { type Database } from 'better-sqlite3';

/** Thrown when another process holds the state file. */
export class StateLockedError extends Error {
  constructor(readonly stateFile: string) {
    super(
      `another ospab-vps-sync process (run, once or resync --local) is using ${stateFile}; ` +
        'stop it first (systemctl stop ospab-vps-sync), or ask the running daemon (resync) — plan, status and resolve still work',
    );
    this.name = 'StateLockedError';
  }
}

/** A held writer lock; `release()` when done. */
export interface WriterLock {
  release(): void;
}

/** Takes the writer lock of a state file or throws `StateLockedError` at once (no waiting). */
export function acquireWriterLock(stateFile: string): WriterLock {
  const lockPath = `${stateFile}.lock`;
  mkdirSync(dirname(lockPath), { recursive: true });
  let db: Database | null = new DatabaseConstructor(lockPath, { timeout: 0 });
  try {
    db.pragma('journal_mode = DELETE');
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    // Touch the file inside the transaction so the exclusive lock is really taken on disk.
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER)');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') throw new StateLockedError(stateFile);
    throw new Error(`cannot lock ${lockPath}: ${(err as Error).message}`, { cause: err });
  }
  return {
    release() {
      if (!db) return;
      try {
        db.exec('ROLLBACK');
      } finally {
        db.close();
        db = null;
      }
    },
  };
}
