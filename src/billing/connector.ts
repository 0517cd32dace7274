// The seam between the generic billing source and one database driver.
import type { LogSink } from '../util/logger.js';
import { BillingError, whileConnecting, type Classified } from './errors.js';
import type { Dialect } from './queries.js';

/**
 * Column names and rows of one query; each row holds its values in column order (arrays: no
 * object per row at 100,000 rows). `rows` can be read once, and only inside the transaction that
 * ran the query (SQLite hands them over one at a time, so they never all exist at once).
 */
export interface ResultSet {
  readonly columns: readonly string[];
  readonly rows: Iterable<readonly unknown[]>;
}

/** Runs one statement inside the current read-only transaction. */
export type RunQuery = (sql: string) => Promise<ResultSet>;

/** One database driver: opens its connection lazily and reopens it after it breaks. */
export interface Connector {
  readonly dialect: Dialect;
  /**
   * Runs `work` inside one read-only transaction. Throws `BillingError` only. A connection that
   * dies under it (server restarted, connection killed, idle socket reset) is replaced and `work`
   * run once more: it only reads, so running it twice is harmless. A failure to connect at all is
   * not retried, so an unreachable server costs one connect timeout, not two.
   */
  readOnly<T>(work: (run: RunQuery) => Promise<T>): Promise<T>;
  /** Closes the connection; a later `readOnly` opens a new one. */
  close(): Promise<void>;
}

/** The outcome of one try on one connection; `retry` says the connection died after it was opened. */
export type Attempt<T> = { ok: true; value: T } | { ok: false; error: BillingError; retry: boolean };

/** Runs `attempt`, and once more if the connection died under the first try (server restart, killed). */
export async function withOneRetry<T>(attempt: () => Promise<Attempt<T>>, logger: LogSink): Promise<T> {
  const first = await attempt();
  if (first.ok) return first.value;
  if (!first.retry) throw first.error;
  logger.info({ reason: first.error.detail }, 'billing: the connection was dead, reconnecting');
  const second = await attempt();
  if (second.ok) return second.value;
  throw second.error;
}

/** One checked-out connection of a network driver, as `readOnlyAttempt` drives it. */
export interface Session {
  /** Per-connection setup (server-side timeouts), run before the transaction. */
  prepare?(): Promise<void>;
  /** Runs a statement without a result (BEGIN, COMMIT, ROLLBACK). */
  exec(sql: string): Promise<void>;
  query(sql: string): Promise<ResultSet>;
  /** Returns the healthy connection to the pool. */
  release(): void;
  /** Drops the broken connection; the pool opens a new one. */
  destroy(): void;
}

/** How a driver turns its errors into billing errors. */
export interface ErrorMapping {
  classify(err: unknown): Classified;
  toError(c: Classified): BillingError;
}

/**
 * One try of a read-only transaction on a network driver: open a session, `begin`, run `work`,
 * COMMIT. A driver error is classified once, where it happened; a lost connection is dropped
 * (and, if it died after opening, marked for one retry), anything else is rolled back.
 */
export async function readOnlyAttempt<T>(
  open: () => Promise<Session>,
  begin: string,
  work: (run: RunQuery) => Promise<T>,
  errors: ErrorMapping,
): Promise<Attempt<T>> {
  let session: Session;
  try {
    session = await open();
  } catch (err) {
    return { ok: false, error: err instanceof BillingError ? err : errors.toError(whileConnecting(errors.classify(err))), retry: false };
  }
  // The classification of the driver error that ended this attempt, if any.
  let failure: Classified | undefined;
  const guard = async <R>(call: () => Promise<R>): Promise<R> => {
    try {
      return await call();
    } catch (err) {
      if (err instanceof BillingError) throw err;
      failure = errors.classify(err);
      throw errors.toError(failure);
    }
  };
  try {
    if (session.prepare) await guard(() => session.prepare!());
    await guard(() => session.exec(begin));
    const value = await work((sql) => guard(() => session.query(sql)));
    await guard(() => session.exec('COMMIT'));
    session.release();
    return { ok: true, value };
  } catch (err) {
    const error = err instanceof BillingError ? err : errors.toError(errors.classify(err));
    if (failure?.lost) session.destroy();
    else await rollback(session);
    return { ok: false, error, retry: failure !== undefined && failure.lost && failure.reason === 'connect' };
  }
}

async function rollback(session: Session): Promise<void> {
  try {
    await session.exec('ROLLBACK');
    session.release();
  } catch {
    session.destroy();
  }
}
