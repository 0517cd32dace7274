// SQLite driver (better-sqlite3): the file is opened read-only on first use and reopened after
// any failure. better-sqlite3 is synchronous, so a running query cannot be interrupted: the
// timeout only bounds waiting for a writer's lock (busy timeout), and an abort is honoured
// before the query starts and when it returns (see SqlBillingSource), not during it.
//
// Integers are read as JavaScript numbers: as BigInts (exact above 2^53) they cost ~100 ms more
// per 98,000 rows, a third of the whole read. A number beyond 2^53 may have been rounded, so the
// first such value stops the read and the query runs again with BigInts (SqliteConnector.readOnly):
// the result is always exact, and only a result that holds such a value pays for it.
import Database from 'better-sqlite3';
import type { BillingConfig } from '../config/schema.js';
import type { LogSink } from '../util/logger.js';
import type { Connector, ResultSet, RunQuery } from './connector.js';
import { BillingError, errorParts, type Classified } from './errors.js';
import { sqlitePath } from './url.js';

/** Connector for `driver: sqlite`. */
export class SqliteConnector implements Connector {
  readonly dialect = 'sqlite' as const;
  private db: Database.Database | undefined;

  constructor(
    private readonly config: BillingConfig,
    private readonly target: string,
    private readonly logger: LogSink,
  ) {}

  /** Runs `work` in one read transaction on the read-only handle (twice when the first read met an integer beyond 2^53). */
  async readOnly<T>(work: (run: RunQuery) => Promise<T>): Promise<T> {
    let db: Database.Database;
    try {
      db = this.open();
    } catch (err) {
      throw this.toError(classifySqliteError(err, this.config.timeoutMs));
    }
    try {
      return await this.inTransaction(db, work, 'numbers');
    } catch (err) {
      if (!(err instanceof RoundedInteger)) throw err;
    }
    return this.inTransaction(db, work, 'bigints');
  }

  private async inTransaction<T>(db: Database.Database, work: (run: RunQuery) => Promise<T>, integers: 'numbers' | 'bigints'): Promise<T> {
    // Every statement iterator opened in this transaction. One left open (`work` failed before
    // reading it to the end: no vm_id column, a duplicate column) keeps the handle busy, so
    // ROLLBACK and close() would throw and the file handle leak, one per failed pass.
    const open: IterableIterator<unknown[]>[] = [];
    const run: RunQuery = async (sql) => {
      try {
        return this.query(db, sql, integers, open);
      } catch (err) {
        if (err instanceof BillingError) throw err;
        throw this.toError(classifySqliteError(err, this.config.timeoutMs));
      }
    };
    try {
      // A deferred transaction so the SSO-column probe and the query see the same snapshot.
      db.exec('BEGIN');
      const value = await work(run);
      finish(open);
      db.exec('COMMIT');
      return value;
    } catch (err) {
      finish(open);
      if (err instanceof RoundedInteger) {
        db.exec('ROLLBACK');
        throw err;
      }
      try {
        if (db.inTransaction) db.exec('ROLLBACK');
      } catch {
        // the handle is dropped below anyway
      }
      // Reopen next time: cheap for a file, and it picks up a replaced or repaired database.
      this.drop(db);
      if (err instanceof BillingError) throw err;
      throw this.toError(classifySqliteError(err, this.config.timeoutMs));
    }
  }

  /** Closes the file handle. */
  async close(): Promise<void> {
    if (this.db) this.drop(this.db);
  }

  private open(): Database.Database {
    if (this.db) return this.db;
    this.db = new Database(sqlitePath(this.config.url), {
      readonly: true,
      fileMustExist: true,
      // How long to wait for a writer's lock before SQLITE_BUSY.
      timeout: this.config.timeoutMs,
    });
    this.logger.debug({ file: this.target }, 'billing: opened the SQLite file read-only');
    return this.db;
  }

  private query(db: Database.Database, sql: string, integers: 'numbers' | 'bigints', open: IterableIterator<unknown[]>[]): ResultSet {
    const stmt = db.prepare(sql);
    if (!stmt.reader) throw new BillingError('query', this.target, 'the query returned no result set (it must be a single SELECT)');
    stmt.safeIntegers(integers === 'bigints');
    const columns = stmt.columns().map((c) => c.name);
    // One row at a time: each is mapped and dropped before the next is read (see ResultSet).
    const rows = stmt.raw(true).iterate() as IterableIterator<unknown[]>;
    open.push(rows);
    return { columns, rows: integers === 'bigints' ? rows : refusingRounded(rows) };
  }

  private drop(db: Database.Database): void {
    try {
      db.close();
    } catch {
      // already closed
    }
    if (this.db === db) this.db = undefined;
  }

  private toError(c: Classified): BillingError {
    return new BillingError(c.reason, this.target, c.detail, c.code);
  }
}

/** Ends each statement iterator (harmless for one read to the end), so the handle is free to commit, roll back or close. */
function finish(open: IterableIterator<unknown[]>[]): void {
  for (const rows of open.splice(0)) {
    try {
      rows.return?.();
    } catch {
      // already ended
    }
  }
}

/** The read met an integer beyond 2^53 as a number: it may have been rounded, so it is read again as a BigInt. */
class RoundedInteger extends Error {}

/** The rows as they come, until one holds an integer number beyond 2^53 (throws RoundedInteger). */
function refusingRounded(rows: IterableIterator<unknown[]>): IterableIterator<unknown[]> {
  // Once per billing row, so kept to a plain iterator and a loop: reading the benchmark's 98,307
  // rows took 184-190 ms with the check and 180-187 ms without it.
  const iterator: IterableIterator<unknown[]> = {
    next(): IteratorResult<unknown[]> {
      const step = rows.next();
      if (step.done) return step;
      const row = step.value;
      for (let i = 0; i < row.length; i++) {
        const value = row[i];
        if (typeof value === 'number' && !Number.isSafeInteger(value) && Number.isInteger(value)) {
          rows.return?.();
          throw new RoundedInteger();
        }
      }
      return step;
    },
    [Symbol.iterator]() {
      return iterator;
    },
  };
  return iterator;
}

/** Maps a better-sqlite3 error to a reason; exported for tests of the mapping itself. */
export function classifySqliteError(err: unknown, timeoutMs: number): Classified {
  const { code, message } = errorParts(err);
  switch (code) {
    case 'SQLITE_CANTOPEN':
      return { reason: 'connect', detail: `cannot open the database file: ${message}`, lost: true, code };
    case 'SQLITE_NOTADB':
    case 'SQLITE_CORRUPT':
      return { reason: 'connect', detail: `not a usable SQLite database: ${message}`, lost: true, code };
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return { reason: 'timeout', detail: `the database stayed locked for more than ${timeoutMs} ms`, lost: true, code };
    case 'SQLITE_AUTH':
    case 'SQLITE_PERM':
      return { reason: 'auth', detail: `access refused: ${message}`, lost: true, code };
  }
  // A missing directory shows up as a TypeError from better-sqlite3, not as SQLITE_CANTOPEN.
  if (/directory does not exist|unable to open/i.test(message)) {
    return { reason: 'connect', detail: `cannot open the database file: ${message}`, lost: true, code };
  }
  return { reason: 'query', detail: `query failed: ${message}`, lost: false, code };
}
