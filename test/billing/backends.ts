// The three databases the billing scenarios run on. Each test file creates its own uniquely named
// databases (other test files run in parallel) and drops them at the end.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { BillingConfig } from '../../src/config/schema.js';
import type { Dialect } from '../fixtures/billing/seed.js';

/** A query (and whatever holds it up) that runs longer than a 300 ms timeout. */
export interface SlowQuery {
  readonly query: string;
  release(): Promise<void>;
}

/** One database created for a test file. */
export interface TestDatabase {
  /** What `billing.url` should be to read it. */
  readonly url: string;
  /** Runs one statement with full rights (setup, not through the code under test). */
  exec(sql: string): Promise<void>;
  /** Rows in a table, read with full rights. */
  count(table: string): Promise<number>;
  /** Kills every other session on this database, as a DBA or a restart would; undefined when there is no server. */
  killConnections?(): Promise<number>;
  /** A query that outlasts 300 ms. */
  slowQuery(): Promise<SlowQuery>;
}

/** One driver's test environment. */
export interface TestBackend {
  readonly driver: BillingConfig['driver'];
  readonly dialect: Dialect;
  /** Why the suite is skipped here, or null when it runs. */
  readonly skipReason: string | null;
  createDatabase(): Promise<TestDatabase>;
  /** A URL whose user the server refuses, carrying `password`; undefined when the driver has no users. */
  badAuthUrl?(password: string): string;
  /** A URL nothing answers on, carrying `password` where the driver has one. */
  unreachableUrl(password: string): Promise<string>;
  /** Drops every database this backend created. */
  dispose(): Promise<void>;
}

/** A short unique name, so parallel test files never share a database. */
export function uniqueName(): string {
  return `billing_t_${randomBytes(5).toString('hex')}`;
}

/** A loopback port that was free a moment ago (nothing listens on it). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** SQLite: a temporary directory of files; always available. */
export function sqliteBackend(): TestBackend {
  let dir: string | undefined;
  return {
    driver: 'sqlite',
    dialect: 'sqlite',
    skipReason: null,
    async createDatabase() {
      dir ??= mkdtempSync(join(tmpdir(), 'billing_t_'));
      const file = join(dir, `${uniqueName()}.db`);
      const rw = (): Database.Database => new Database(file);
      rw().close();
      return {
        url: file,
        async exec(sql) {
          const db = rw();
          try {
            db.exec(sql);
          } finally {
            db.close();
          }
        },
        async count(table) {
          const db = rw();
          try {
            return Number((db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n);
          } finally {
            db.close();
          }
        },
        // SQLite has no statement to sleep; the timeout that matters is waiting for a writer's lock.
        async slowQuery() {
          const writer = rw();
          writer.exec('BEGIN EXCLUSIVE');
          return {
            query: 'SELECT id AS vm_id, owner AS user_id FROM svc',
            async release() {
              writer.exec('ROLLBACK');
              writer.close();
            },
          };
        },
      };
    },
    async unreachableUrl() {
      return join(tmpdir(), `${uniqueName()}-does-not-exist`, 'billing.db');
    },
    async dispose() {
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** MariaDB/MySQL from `BILLING_TEST_MYSQL_URL`. */
export function mysqlBackend(env: NodeJS.ProcessEnv = process.env): TestBackend {
  const adminUrl = env.BILLING_TEST_MYSQL_URL;
  const created: string[] = [];
  const handles: mysql.Connection[] = [];
  const connect = (url: string): Promise<mysql.Connection> => mysql.createConnection({ uri: url, multipleStatements: false });
  return {
    driver: 'mysql',
    dialect: 'mysql',
    skipReason: adminUrl ? null : 'BILLING_TEST_MYSQL_URL is not set (e.g. mysql://root@127.0.0.1:3306/test)',
    async createDatabase() {
      const name = uniqueName();
      const admin = await connect(adminUrl!);
      try {
        await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
      } finally {
        await admin.end();
      }
      created.push(name);
      const url = withDatabase(adminUrl!, name);
      const conn = await connect(url);
      handles.push(conn);
      return {
        url,
        async exec(sql) {
          await conn.query(sql);
        },
        async count(table) {
          const [rows] = await conn.query(`SELECT COUNT(*) AS n FROM \`${table}\``);
          return Number((rows as { n: number }[])[0]!.n);
        },
        async killConnections() {
          const [rows] = await conn.query(
            'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()',
            [name],
          );
          const ids = (rows as { id: number }[]).map((r) => r.id);
          for (const id of ids) await conn.query(`KILL ${Number(id)}`).catch(() => undefined);
          return ids.length;
        },
        async slowQuery() {
          return { query: 'SELECT SLEEP(2) AS slept, 1 AS vm_id, 1 AS user_id', async release() {} };
        },
      };
    },
    badAuthUrl(password) {
      const u = new URL(adminUrl!);
      u.username = 'billing_no_such_user';
      u.password = password;
      return u.toString();
    },
    async unreachableUrl(password) {
      return `mysql://sync:${encodeURIComponent(password)}@127.0.0.1:${await closedPort()}/billing`;
    },
    async dispose() {
      for (const h of handles.splice(0)) await h.end().catch(() => undefined);
      if (created.length === 0) return;
      const admin = await connect(adminUrl!);
      try {
        for (const name of created.splice(0)) await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await admin.end();
      }
    },
  };
}

/** PostgreSQL from `BILLING_TEST_POSTGRES_URL`. */
export function postgresBackend(env: NodeJS.ProcessEnv = process.env): TestBackend {
  const adminUrl = env.BILLING_TEST_POSTGRES_URL;
  const created: string[] = [];
  const handles: pg.Client[] = [];
  const connect = async (url: string): Promise<pg.Client> => {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => undefined); // terminated by the kill scenario's sweep
    await client.connect();
    return client;
  };
  return {
    driver: 'postgres',
    dialect: 'postgres',
    skipReason: adminUrl ? null : 'BILLING_TEST_POSTGRES_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test)',
    async createDatabase() {
      const name = uniqueName();
      const admin = await connect(adminUrl!);
      try {
        await admin.query(`CREATE DATABASE "${name}"`);
      } finally {
        await admin.end();
      }
      created.push(name);
      const url = withDatabase(adminUrl!, name);
      const client = await connect(url);
      handles.push(client);
      return {
        url,
        async exec(sql) {
          await client.query(sql);
        },
        async count(table) {
          const r = await client.query(`SELECT COUNT(*) AS n FROM "${table}"`);
          return Number((r.rows[0] as { n: string }).n);
        },
        async killConnections() {
          const r = await client.query(
            'SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
            [name],
          );
          return r.rowCount ?? 0;
        },
        async slowQuery() {
          return { query: 'SELECT pg_sleep(2) AS slept, 1 AS vm_id, 1 AS user_id', async release() {} };
        },
      };
    },
    badAuthUrl(password) {
      // The loopback servers here use trust auth, which ignores passwords: an unknown role is what gets refused.
      const u = new URL(adminUrl!);
      u.username = 'billing_no_such_user';
      u.password = password;
      return u.toString();
    },
    async unreachableUrl(password) {
      return `postgres://sync:${encodeURIComponent(password)}@127.0.0.1:${await closedPort()}/billing`;
    },
    async dispose() {
      for (const h of handles.splice(0)) await h.end().catch(() => undefined);
      if (created.length === 0) return;
      const admin = await connect(adminUrl!);
      try {
        for (const name of created.splice(0)) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}
