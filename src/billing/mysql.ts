// MySQL / MariaDB driver (mysql2): one pooled connection, opened on first use, dropped and
// reopened after it breaks; every call runs in `START TRANSACTION READ ONLY`.
import type { FieldPacket, Pool, PoolConnection } from 'mysql2/promise';
import type { BillingConfig } from '../config/schema.js';
import type { LogSink } from '../util/logger.js';
import { readOnlyAttempt, withOneRetry, type Attempt, type Connector, type ResultSet, type RunQuery, type Session } from './connector.js';
import { BillingError, classifyNetworkError, errorParts, type Classified } from './errors.js';
import { driverTls } from './tls.js';
import { parseNetworkUrl, urlScrubber } from './url.js';

/** Extra time the client waits past the server-side limit, so the server's clean interruption normally wins. */
const CLIENT_GRACE_MS = 1_000;

/** Connector for `driver: mysql`. */
export class MysqlConnector implements Connector {
  readonly dialect = 'mysql' as const;
  private pool: Pool | undefined;
  /** Underlying connections whose session has been set up (server-side statement timeout). */
  private readonly prepared = new WeakSet<object>();

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
    return readOnlyAttempt(() => this.open(), 'START TRANSACTION READ ONLY', work, this);
  }

  private async open(): Promise<Session> {
    const conn = await (await this.ensurePool()).getConnection();
    const core = conn.connection as object;
    return {
      prepare: async () => {
        if (this.prepared.has(core)) return;
        await this.prepareSession(conn);
        this.prepared.add(core);
      },
      exec: (sql) => this.exec(conn, sql),
      query: (sql) => this.query(conn, sql),
      release: () => conn.release(),
      destroy: () => conn.destroy(),
    };
  }

  private async ensurePool(): Promise<Pool> {
    if (this.pool) return this.pool;
    const t = parseNetworkUrl(this.config.url, 'mysql');
    const ssl = driverTls(this.config.tls, this.target);
    // Loaded on first use: a daemon on another driver never pays for mysql2 (~5 MB of memory).
    const { default: mysql } = await import('mysql2/promise');
    this.pool ??= mysql.createPool({
      host: t.host,
      port: t.port,
      user: t.user,
      password: t.password,
      database: t.database,
      ...(ssl ? { ssl: { ...ssl } } : {}),
      // One connection is enough for one query per pass, and keeps the footprint on the billing server minimal.
      connectionLimit: 1,
      maxIdle: 1,
      idleTimeout: 60_000,
      connectTimeout: this.config.timeoutMs,
      enableKeepAlive: true,
      // Big BIGINTs come back as strings instead of silently losing precision.
      supportBigNumbers: true,
      dateStrings: true,
      multipleStatements: false,
    });
    return this.pool;
  }

  /** Bounds every statement on the server too, so an abandoned query does not keep running there. */
  private async prepareSession(conn: PoolConnection): Promise<void> {
    const timeout = this.config.timeoutMs + CLIENT_GRACE_MS;
    try {
      // MariaDB: seconds, fractional allowed.
      await conn.query({ sql: `SET SESSION max_statement_time = ${(this.config.timeoutMs / 1000).toFixed(3)}`, timeout });
    } catch (err) {
      if ((err as { errno?: number }).errno !== 1193) throw err; // 1193: unknown variable, i.e. MySQL
      // MySQL: milliseconds, SELECT only; older servers have neither and rely on the client timeout.
      await conn.query({ sql: `SET SESSION max_execution_time = ${this.config.timeoutMs}`, timeout }).catch(() => undefined);
    }
  }

  private async exec(conn: PoolConnection, sql: string): Promise<void> {
    await conn.query({ sql, timeout: this.config.timeoutMs + CLIENT_GRACE_MS });
  }

  private async query(conn: PoolConnection, sql: string): Promise<ResultSet> {
    const [rows, fields] = (await conn.query({ sql, timeout: this.config.timeoutMs + CLIENT_GRACE_MS, rowsAsArray: true })) as [unknown, FieldPacket[] | undefined];
    if (!Array.isArray(rows) || fields === undefined) {
      throw new BillingError('query', this.target, 'the query returned no result set (it must be a single SELECT)');
    }
    return { columns: fields.map((f) => f.name), rows: rows as unknown[][] };
  }

  /** Maps a classified failure to the billing error callers see (URL scrubbed). */
  toError(c: Classified): BillingError {
    return new BillingError(c.reason, this.target, urlScrubber(this.config.url)(c.detail), c.code);
  }

  /** Classifies a mysql2 error. */
  classify(err: unknown): Classified {
    return classifyMysqlError(err, this.config.timeoutMs);
  }
}

/** Maps a mysql2 error to a reason; exported for tests of the mapping itself. */
export function classifyMysqlError(err: unknown, timeoutMs: number): Classified {
  const { code, message } = errorParts(err);
  const e = err as { errno?: number; sqlMessage?: string; fatal?: boolean };
  const sqlMessage = e.sqlMessage ?? message;
  const net = classifyNetworkError(code, message, timeoutMs);
  if (net) return net;
  switch (code) {
    case 'PROTOCOL_SEQUENCE_TIMEOUT':
      // The client gave up; the connection still has a result in flight, so it is dropped (but not retried).
      return { reason: 'timeout', detail: `query timed out after ${timeoutMs} ms`, lost: true, code };
    case 'ER_ACCESS_DENIED_ERROR':
    case 'ER_DBACCESS_DENIED_ERROR':
    case 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR':
    case 'ER_TABLEACCESS_DENIED_ERROR':
      return { reason: 'auth', detail: `authentication failed: ${sqlMessage}`, lost: code !== 'ER_TABLEACCESS_DENIED_ERROR', code };
    case 'ER_BAD_DB_ERROR':
      return { reason: 'connect', detail: `database does not exist: ${sqlMessage}`, lost: true, code };
    case 'ER_CON_COUNT_ERROR':
      return { reason: 'connect', detail: `too many connections: ${sqlMessage}`, lost: true, code };
    case 'HANDSHAKE_NO_SSL_SUPPORT':
      return { reason: 'connect', detail: 'TLS: the server does not support TLS (billing.tls.enabled is true)', lost: true, code };
    case 'PROTOCOL_CONNECTION_LOST':
      return { reason: 'connect', detail: 'connection lost: the server closed the connection', lost: true, code };
    case 'ER_SERVER_SHUTDOWN':
      return { reason: 'connect', detail: `connection lost: ${sqlMessage}`, lost: true, code };
  }
  switch (e.errno) {
    case 1969: // MariaDB: max_statement_time exceeded
    case 3024: // MySQL: max_execution_time exceeded
      return { reason: 'timeout', detail: `query timed out after ${timeoutMs} ms`, lost: false, code };
    case 1927: // MariaDB: connection was killed
      return { reason: 'connect', detail: `connection lost: ${sqlMessage}`, lost: true, code };
  }
  if (e.fatal) return { reason: 'connect', detail: `connection lost: ${message}`, lost: true, code };
  if (e.sqlMessage !== undefined) return { reason: 'query', detail: `query failed: ${e.sqlMessage}`, lost: false, code };
  return { reason: 'connect', detail: message, lost: true, code };
}
