// A billing database for end-to-end tests, on SQLite, MariaDB or PostgreSQL: created with the main
// site's tables for one test, changed row by row while the test runs, made unavailable in each way
// the daemon must survive (refused, auth failed, query error, timeout) and brought back.
//
// The network databases are reached through a TCP relay on loopback, so "the server stops
// answering" can happen mid-life without touching the shared server: the relay stops listening
// (connection refused) and later listens again on the same port. The daemon reads through its own
// read-only user with a password, so the tests can also check that password never leaks.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { listenOn } from '../../src/simulators/listen.js';
import { quoteIdent, seedMainSite, seedStatements, type Dialect, type SeedServer } from '../fixtures/billing/seed.js';

export type BillingDriver = 'sqlite' | 'mysql' | 'postgres';

/** The ways billing becomes unavailable (docs/billing.md, "When billing is down"). */
export type OutageKind = 'refused' | 'auth' | 'query' | 'timeout';
export const OUTAGE_KINDS: readonly OutageKind[] = ['refused', 'auth', 'query', 'timeout'];

/** The reason code (`BillingError.reason`) each outage must produce. */
export const OUTAGE_REASON: Record<OutageKind, string> = { refused: 'connect', auth: 'auth', query: 'query', timeout: 'timeout' };

/** How long a billing statement may take in these worlds (the timeout outage waits this long). */
export const BILLING_TIMEOUT_MS = 1_500;

/** A running outage; `end()` makes billing answer again. */
export interface Outage {
  end(): Promise<void>;
}

/** The fields of a main-site `server` row a test may change. */
export interface ServerPatch {
  userId?: number;
  status?: string;
  proxmoxId?: number | null;
  osId?: number;
}

/** One main-site billing database, for one test. */
export interface BillingDatabase {
  readonly driver: BillingDriver;
  readonly dialect: Dialect;
  /** `billing.url` for the daemon (through the relay for network databases). */
  readonly url: string;
  /** The password inside `url`, which must never show up in output; null for SQLite. */
  readonly password: string | null;
  /** Runs one statement with full rights. */
  exec(sql: string): Promise<void>;
  /** Quotes an identifier for this dialect. */
  q(name: string): string;
  /** Inserts a `server` row (a paid VPS) and returns its id. */
  bill(vmid: number | null, userId: number, over?: Partial<SeedServer>): Promise<number>;
  /** Changes a `server` row. */
  setServer(id: number, patch: ServerPatch): Promise<void>;
  /** Deletes a `server` row. */
  deleteServer(id: number): Promise<void>;
  /** Starts an outage of this kind. */
  outage(kind: OutageKind): Promise<Outage>;
  /** Drops everything this database created (its relay, user/role, database or file). */
  close(): Promise<void>;
}

/** One driver's way of making test databases. */
export interface BillingBackend {
  readonly driver: BillingDriver;
  /** Why the tests are skipped for this driver, or null when they run. */
  readonly skipReason: string | null;
  /** Outage kinds this driver cannot produce, with why (SQLite has no users to refuse). */
  readonly unsupported: Partial<Record<OutageKind, string>>;
  create(): Promise<BillingDatabase>;
}

/** The users and lookup rows every test database starts with (servers are added by each test). */
const BASE_SEED = {
  users: Array.from({ length: 20 }, (_, i) => ({ id: i + 1 })),
  operatingSystems: [
    { id: 1, name: 'Ubuntu 22.04 LTS' },
    { id: 2, name: 'Debian 12' },
  ],
  tariffs: [{ id: 1 }],
};

function uniqueName(): string {
  return `bille2e_${randomBytes(5).toString('hex')}`;
}

/** Shared row helpers over whatever runs one statement. */
function rowHelpers(dialect: Dialect, exec: (sql: string) => Promise<void>) {
  const q = (name: string): string => quoteIdent(dialect, name);
  let nextId = 1;
  const literal = (v: string | number | null): string => (v === null ? 'NULL' : typeof v === 'number' ? String(v) : `'${v.replace(/'/g, "''")}'`);
  return {
    q,
    async bill(vmid: number | null, userId: number, over: Partial<SeedServer> = {}): Promise<number> {
      const id = over.id ?? nextId;
      nextId = Math.max(nextId, id + 1);
      for (const sql of seedStatements(dialect, { servers: [{ id, userId, osId: 1, status: 'active', proxmoxId: vmid, ...over }] })) await exec(sql);
      return id;
    },
    async setServer(id: number, patch: ServerPatch): Promise<void> {
      const sets = Object.entries(patch)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${q(k)} = ${literal(v as string | number | null)}`);
      if (sets.length > 0) await exec(`UPDATE ${q('server')} SET ${sets.join(', ')} WHERE ${q('id')} = ${id}`);
    },
    async deleteServer(id: number): Promise<void> {
      await exec(`DELETE FROM ${q('server')} WHERE ${q('id')} = ${id}`);
    },
    async renameServerTable(from: string, to: string): Promise<void> {
      await exec(dialect === 'mysql' ? `RENAME TABLE ${q(from)} TO ${q(to)}` : `ALTER TABLE ${q(from)} RENAME TO ${q(to)}`);
    },
  };
}

/** A TCP relay on loopback to a database server; `down()` refuses connections, `up()` listens again on the same port. */
class Relay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async up(): Promise<void> {
    const server = createServer((client) => {
      const upstream = tcpConnect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream).pipe(client);
    });
    await listenOn(server, this.port, '127.0.0.1');
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** Stops listening and cuts every relayed connection, as a stopped server would. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** SQLite: a file in a temporary directory; always available. */
export function sqliteBilling(): BillingBackend {
  return {
    driver: 'sqlite',
    skipReason: null,
    unsupported: { auth: 'SQLite has no users or passwords to refuse' },
    async create() {
      const dir = mkdtempSync(join(tmpdir(), 'bille2e-'));
      const file = join(dir, 'billing.db');
      // better-sqlite3 handles cannot follow a renamed file, so the test's own handle is reopened after one.
      let db = new Database(file);
      const exec = async (sql: string): Promise<void> => void db.exec(sql);
      await seedMainSite(exec, 'sqlite', BASE_SEED);
      const rows = rowHelpers('sqlite', exec);
      return {
        driver: 'sqlite',
        dialect: 'sqlite',
        url: file,
        password: null,
        exec,
        q: rows.q,
        bill: rows.bill,
        setServer: rows.setServer,
        deleteServer: rows.deleteServer,
        async outage(kind) {
          switch (kind) {
            case 'refused': {
              // The file goes away (a lost mount, a botched restore): the daemon cannot open it.
              db.close();
              renameSync(file, `${file}.away`);
              return {
                async end() {
                  renameSync(`${file}.away`, file);
                  db = new Database(file);
                },
              };
            }
            case 'query':
              await rows.renameServerTable('server', 'server_away');
              return { end: () => rows.renameServerTable('server_away', 'server') };
            case 'timeout': {
              // A writer holding the lock longer than billing.timeoutMs.
              const writer = new Database(file);
              writer.exec('BEGIN EXCLUSIVE');
              return {
                async end() {
                  writer.exec('ROLLBACK');
                  writer.close();
                },
              };
            }
            case 'auth':
              throw new Error('SQLite has no users or passwords to refuse');
          }
        },
        async close() {
          if (db.open) db.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

/** The relay's target and the URL for the daemon's own user on it. */
function daemonUrl(scheme: string, user: string, password: string, port: number, database: string): string {
  return `${scheme}://${user}:${password}@127.0.0.1:${port}/${database}`;
}

function serverAddress(adminUrl: string, defaultPort: number): { host: string; port: number } {
  const u = new URL(adminUrl);
  return { host: u.hostname || '127.0.0.1', port: u.port ? Number(u.port) : defaultPort };
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** MariaDB/MySQL from `BILLING_TEST_MYSQL_URL` (an admin user that may create databases and users). */
export function mysqlBilling(env: NodeJS.ProcessEnv = process.env): BillingBackend {
  const adminUrl = env.BILLING_TEST_MYSQL_URL;
  const connect = (url: string): Promise<mysql.Connection> => mysql.createConnection({ uri: url, multipleStatements: false });
  return {
    driver: 'mysql',
    skipReason: adminUrl ? null : 'BILLING_TEST_MYSQL_URL is not set (e.g. mysql://root@127.0.0.1:3306/test; .ci/run sets it)',
    unsupported: {},
    async create() {
      const name = uniqueName();
      const password = `Pw${randomBytes(9).toString('hex')}`;
      const account = `'${name}'@'%'`;
      const admin = await connect(adminUrl!);
      const extra: mysql.Connection[] = [];
      let conn: mysql.Connection | undefined;
      const relay = new Relay(serverAddress(adminUrl!, 3306));
      const close = async (): Promise<void> => {
        await relay.down();
        for (const c of [...extra, conn]) await c?.end().catch(() => undefined);
        await admin.query(`DROP DATABASE IF EXISTS \`${name}\``).catch(() => undefined);
        await admin.query(`DROP USER IF EXISTS ${account}`).catch(() => undefined);
        await admin.end().catch(() => undefined);
      };
      try {
        await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
        await admin.query(`CREATE USER ${account} IDENTIFIED BY '${password}'`);
        await admin.query(`GRANT SELECT ON \`${name}\`.* TO ${account}`);
        conn = await connect(withDatabase(adminUrl!, name));
        const c = conn;
        const exec = async (sql: string): Promise<void> => void (await c.query(sql));
        await seedMainSite(exec, 'mysql', BASE_SEED);
        await relay.up();
        const rows = rowHelpers('mysql', exec);
        return {
          driver: 'mysql',
          dialect: 'mysql',
          url: daemonUrl('mysql', name, password, relay.port, name),
          password,
          exec,
          q: rows.q,
          bill: rows.bill,
          setServer: rows.setServer,
          deleteServer: rows.deleteServer,
          async outage(kind) {
            switch (kind) {
              case 'refused':
                await relay.down();
                return { end: () => relay.up() };
              case 'auth':
                await admin.query(`ALTER USER ${account} IDENTIFIED BY 'not-${password}'`);
                return { end: async () => void (await admin.query(`ALTER USER ${account} IDENTIFIED BY '${password}'`)) };
              case 'query':
                await rows.renameServerTable('server', 'server_away');
                return { end: () => rows.renameServerTable('server_away', 'server') };
              case 'timeout': {
                // Another session holds a write lock on `server`: the daemon's read waits past its timeout.
                const locker = await connect(withDatabase(adminUrl!, name));
                extra.push(locker);
                await locker.query('LOCK TABLES `server` WRITE');
                return {
                  async end() {
                    await locker.query('UNLOCK TABLES');
                    await locker.end();
                    extra.splice(extra.indexOf(locker), 1);
                  },
                };
              }
            }
          },
          close,
        };
      } catch (err) {
        await close();
        throw err;
      }
    },
  };
}

/** PostgreSQL from `BILLING_TEST_POSTGRES_URL` (a superuser on loopback). */
export function postgresBilling(env: NodeJS.ProcessEnv = process.env): BillingBackend {
  const adminUrl = env.BILLING_TEST_POSTGRES_URL;
  const connect = async (url: string): Promise<pg.Client> => {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  };
  return {
    driver: 'postgres',
    skipReason: adminUrl ? null : 'BILLING_TEST_POSTGRES_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/postgres; .ci/run sets it)',
    unsupported: {},
    async create() {
      const name = uniqueName();
      const password = `Pw${randomBytes(9).toString('hex')}`;
      const admin = await connect(adminUrl!);
      const extra: pg.Client[] = [];
      let client: pg.Client | undefined;
      const relay = new Relay(serverAddress(adminUrl!, 5432));
      const close = async (): Promise<void> => {
        await relay.down();
        for (const c of [...extra, client]) await c?.end().catch(() => undefined);
        await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined);
        await admin.query(`DROP ROLE IF EXISTS "${name}"`).catch(() => undefined);
        await admin.end().catch(() => undefined);
      };
      try {
        await admin.query(`CREATE DATABASE "${name}"`);
        await admin.query(`CREATE ROLE "${name}" LOGIN PASSWORD '${password}'`);
        client = await connect(withDatabase(adminUrl!, name));
        const c = client;
        const exec = async (sql: string): Promise<void> => void (await c.query(sql));
        // The daemon's role may read every table a test creates, now or later (GRANT SELECT ON db.* on MariaDB).
        await exec(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO "${name}"`);
        await seedMainSite(exec, 'postgres', BASE_SEED);
        await relay.up();
        const rows = rowHelpers('postgres', exec);
        return {
          driver: 'postgres',
          dialect: 'postgres',
          url: daemonUrl('postgres', name, password, relay.port, name),
          password,
          exec,
          q: rows.q,
          bill: rows.bill,
          setServer: rows.setServer,
          deleteServer: rows.deleteServer,
          async outage(kind) {
            switch (kind) {
              case 'refused':
                await relay.down();
                return { end: () => relay.up() };
              case 'auth':
                // Loopback servers here trust every password, so the role itself is refused.
                await admin.query(`ALTER ROLE "${name}" NOLOGIN`);
                return { end: async () => void (await admin.query(`ALTER ROLE "${name}" LOGIN`)) };
              case 'query':
                await rows.renameServerTable('server', 'server_away');
                return { end: () => rows.renameServerTable('server_away', 'server') };
              case 'timeout': {
                // Another session holds an exclusive lock on "server": the daemon's read waits past statement_timeout.
                const locker = await connect(withDatabase(adminUrl!, name));
                extra.push(locker);
                await locker.query('BEGIN');
                await locker.query('LOCK TABLE "server" IN ACCESS EXCLUSIVE MODE');
                return {
                  async end() {
                    await locker.query('ROLLBACK');
                    await locker.end();
                    extra.splice(extra.indexOf(locker), 1);
                  },
                };
              }
            }
          },
          close,
        };
      } catch (err) {
        await close();
        throw err;
      }
    },
  };
}

/** The backend for a driver name. */
export function billingBackend(driver: BillingDriver, env: NodeJS.ProcessEnv = process.env): BillingBackend {
  return driver === 'sqlite' ? sqliteBilling() : driver === 'mysql' ? mysqlBilling(env) : postgresBilling(env);
}
