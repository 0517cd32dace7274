// The seam between the generic billing source and one database driver.
import type { Logger } from '../util/logger.js';
import type { BillingError } from './errors.js';
import type { Dialect } from './queries.js';

/** Column names (in result order) and rows (keyed by column name) of one query. */
export interface ResultSet {
  readonly columns: readonly string[];
  readonly rows: readonly Record<string, unknown>[];
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
export async function withOneRetry<T>(attempt: () => Promise<Attempt<T>>, logger: Logger): Promise<T> {
  const first = await attempt();
  if (first.ok) return first.value;
  if (!first.retry) throw first.error;
  logger.info({ reason: first.error.detail }, 'billing: the connection was dead, reconnecting');
  const second = await attempt();
  if (second.ok) return second.value;
  throw second.error;
}
