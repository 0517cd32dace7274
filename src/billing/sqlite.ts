// SQLite driver (better-sqlite3): the file is opened read-only on first use and reopened after
// any failure. better-sqlite3 is synchronous, so a running query cannot be interrupted: the
// timeout only bounds waiting for a writer's lock (busy timeout), and an abort is honoured
// before the query starts and when it returns (see SqlBillingSource), not during it.
import Database from 'better-sqlite3';
import type { BillingConfig } from '../config/schema.js';
import type { Logger } from '../util/logger.js';
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
    private readonly logger: Logger,
  ) {}

  /** Runs `work` in one read transaction on the read-only handle. */
  async readOnly<T>(work: (run: RunQuery) => Promise<T>): Promise<T> {
    let db: Database.Database;
    try {
      db = this.open();
    } catch (err) {
      throw this.toError(classifySqliteError(err, this.config.timeoutMs));
    }
    const run: RunQuery = async (sql) => {
      try {
        return this.query(db, sql);
      } catch (err) {
        if (err instanceof BillingError) throw err;
        throw this.toError(classifySqliteError(err, this.config.timeoutMs));
      }
    };
    try {
      // A deferred transaction so the SSO-column probe and the query see the same snapshot.
      db.exec('BEGIN');
      const value = await work(run);
      db.exec('COMMIT');
      return value;
    } catch (err) {
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

  private query(db: Database.Database, sql: string): ResultSet {
    const stmt = db.prepare(sql);
    if (!stmt.reader) throw new BillingError('query', this.target, 'the query returned no result set (it must be a single SELECT)');
    // Integers as BigInt: no silent precision loss above 2^53; rows.ts narrows them.
    stmt.safeIntegers(true);
    const columns = stmt.columns().map((c) => c.name);
    // One row at a time: each is mapped and dropped before the next is read (see ResultSet).
    return { columns, rows: stmt.raw(true).iterate() as IterableIterator<unknown[]> };
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
