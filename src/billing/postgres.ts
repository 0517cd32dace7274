// PostgreSQL driver (pg): a pool of one client, opened on first use, dropped and reopened after
// it breaks; every call runs in `BEGIN READ ONLY`, bounded by `statement_timeout` on the server.
import type pg from 'pg';
import type { BillingConfig } from '../config/schema.js';
import type { LogSink } from '../util/logger.js';
import { readOnlyAttempt, withOneRetry, type Attempt, type Connector, type ResultSet, type RunQuery, type Session } from './connector.js';
import { BillingError, classifyNetworkError, errorParts, type Classified } from './errors.js';
import { driverTls } from './tls.js';
import { parseNetworkUrl, urlScrubber } from './url.js';

/** Extra time the client waits past `statement_timeout`, so the server's clean cancellation normally wins. */
const CLIENT_GRACE_MS = 1_000;

/** Connector for `driver: postgres`. */
export class PostgresConnector implements Connector {
  readonly dialect = 'postgres' as const;
  private pool: pg.Pool | undefined;

  constructor(
    private readonly config: BillingConfig,
    private readonly target: string,
    private readonly logger: LogSink,
  ) {}

  /** Runs `work` in a read-only transaction; runs it once more on a new connection if the connection died under it. */
  async readOnly<T>(work: (run: RunQuery) => Promise<T>): Promise<T> {
    return withOneRetry(() => this.attempt(work), this.logger);
  }

  /** Closes the pool; the next call opens a new one. */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end().catch(() => undefined);
  }

  private attempt<T>(work: (run: RunQuery) => Promise<T>): Promise<Attempt<T>> {
    return readOnlyAttempt(() => this.open(), 'BEGIN READ ONLY', work, this);
  }

  private async open(): Promise<Session> {
    const client = await (await this.ensurePool()).connect();
    return {
      exec: async (sql) => {
        await client.query(sql);
      },
      query: (sql) => this.query(client, sql),
      release: () => client.release(),
      destroy: () => client.release(true),
    };
  }

  private async ensurePool(): Promise<pg.Pool> {
    if (this.pool) return this.pool;
    const t = parseNetworkUrl(this.config.url, 'postgres');
    const ssl = driverTls(this.config.tls, this.target);
    // Loaded on first use: a daemon on another driver never pays for pg (~4 MB of memory).
    const { default: driver } = await import('pg');
    if (this.pool) return this.pool;
    const pool = new driver.Pool({
      host: t.host,
      port: t.port,
      user: t.user,
      password: t.password,
      database: t.database,
      ssl: ssl ? { ...ssl } : false,
      max: 1,
      idleTimeoutMillis: 60_000,
      connectionTimeoutMillis: this.config.timeoutMs,
      statement_timeout: this.config.timeoutMs,
      query_timeout: this.config.timeoutMs + CLIENT_GRACE_MS,
      application_name: 'ospab-vps-sync',
      keepAlive: true,
      allowExitOnIdle: true,
    });
    // An idle client killed by the server (restart, pg_terminate_backend) is dropped by the pool;
    // without a listener the error would crash the process.
    const scrub = urlScrubber(this.config.url);
    pool.on('error', (err) => this.logger.info({ reason: scrub(err.message) }, 'billing: idle connection closed by the server'));
    // A server-side kill (restart, pg_terminate_backend) is an 'error' event on the client; without
    // a listener at that moment it is an uncaught exception that ends the daemon. The pool listens
    // only while a client is idle, so every client gets a listener of its own for its whole life
    // (a checked-out client's query fails on its own and is retried). Listening only while a
    // session held the client let one such error through, once, in the kill-race test under load.
    pool.on('connect', (client) => client.on('error', ignoreClientError));
    this.pool = pool;
    return pool;
  }

  private async query(client: pg.PoolClient, sql: string): Promise<ResultSet> {
    // The extended protocol refuses several statements in one string, so nothing can follow a COMMIT.
    const result = await client.query({ text: sql, queryMode: 'extended', rowMode: 'array' } as pg.QueryArrayConfig);
    if (result.fields.length === 0 && result.command !== 'SELECT') {
      throw new BillingError('query', this.target, 'the query returned no result set (it must be a single SELECT)');
    }
    return { columns: result.fields.map((f) => f.name), rows: result.rows as unknown[][] };
  }

  /** Maps a classified failure to the billing error callers see (URL scrubbed). */
  toError(c: Classified): BillingError {
    return new BillingError(c.reason, this.target, urlScrubber(this.config.url)(c.detail), c.code);
  }

  /** Classifies a pg error. */
  classify(err: unknown): Classified {
    return classifyPostgresError(err, this.config.timeoutMs);
  }
}

/** See ensurePool(): the failure itself reaches the caller through the query or the pool. */
function ignoreClientError(): void {}

/** Maps a pg error to a reason; exported for tests of the mapping itself. */
export function classifyPostgresError(err: unknown, timeoutMs: number): Classified {
  const { code, message } = errorParts(err);
  const net = classifyNetworkError(code, message, timeoutMs);
  if (net) return net;
  if (/^timeout expired$|connection timeout|timeout exceeded when trying to connect/i.test(message)) {
    return { reason: 'connect', detail: `connection timed out after ${timeoutMs} ms`, lost: true, code };
  }
  if (message === 'Query read timeout') {
    return { reason: 'timeout', detail: `query timed out after ${timeoutMs} ms`, lost: true, code };
  }
  if (/does not support SSL/i.test(message)) {
    return { reason: 'connect', detail: 'TLS: the server does not support TLS (billing.tls.enabled is true)', lost: true, code };
  }
  switch (code) {
    case '28P01': // invalid_password
    case '28000': // invalid_authorization_specification (unknown role, pg_hba reject)
      return { reason: 'auth', detail: `authentication failed: ${message}`, lost: true, code };
    case '3D000':
      return { reason: 'connect', detail: `database does not exist: ${message}`, lost: true, code };
    case '53300':
      return { reason: 'connect', detail: `too many connections: ${message}`, lost: true, code };
    case '57014': // query_canceled: statement_timeout
      return { reason: 'timeout', detail: `query timed out after ${timeoutMs} ms`, lost: false, code };
    case '57P01': // admin_shutdown: server stopping or pg_terminate_backend
    case '57P02':
    case '57P03':
      return { reason: 'connect', detail: `connection lost: ${message}`, lost: true, code };
  }
  if (/Connection terminated|not queryable|Connection ended/i.test(message)) {
    return { reason: 'connect', detail: `connection lost: ${message}`, lost: true, code };
  }
  if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) {
    // SQLSTATE class 08 is a connection exception; everything else is about the query.
    if (code.startsWith('08')) return { reason: 'connect', detail: `connection lost: ${message}`, lost: true, code };
    return { reason: 'query', detail: `query failed: ${message}`, lost: false, code };
  }
  return { reason: 'connect', detail: message, lost: true, code };
}
