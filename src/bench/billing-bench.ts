// `node dist/bench/billing-bench.js [--rows 98000] [--reps 9] [--mysql URL] [--postgres URL]`
//
// One pass's billing query, alone, on each driver: the daemon's own billing source (the built-in
// query for the main site's layout, the row contract's mapping) over `--rows` `server` rows. The
// main benchmark reads billing from SQLite; the main site runs MySQL, so this says what the same
// pass costs there. SQLite always runs (a temporary file); MySQL/MariaDB and PostgreSQL run when
// an admin URL is given (default: BILLING_TEST_MYSQL_URL / BILLING_TEST_POSTGRES_URL): the tool
// creates its own database `vps_sync_billing_bench` there and drops it afterwards.
//
// Prints, per driver, the wall and CPU time of `listRecords` (median and min over `--reps` after
// one unmeasured run), and of the billing thread's read (`listChanges`, run here in-process): when
// no row changed, and after 1% of the rows changed status (only those rows are mapped). CPU is this
// process's: for the network drivers the server's share is not in it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { createBillingSource } from '../billing/index.js';
import { HeldBilling } from '../billing/row-delta.js';
import type { BillingConfig } from '../config/schema.js';
import { mainSiteSchema, quoteIdent, type Dialect } from '../simulators/billing/main-site.js';
import { createLogger } from '../util/logger.js';

const DATABASE = 'vps_sync_billing_bench';
const USERS = 2_000;
const OSES = ['Ubuntu 22.04', 'Debian 12', 'AlmaLinux 9', 'Windows Server 2022', 'Rocky Linux 9'];
const STATUSES = ['running', 'running', 'running', 'stopped', 'suspended'];

/** The main site's tables and `rows` servers (one per VM, owners and OSes spread evenly), in multi-row INSERTs. */
function* statements(dialect: Dialect, rows: number): Generator<string> {
  const q = (name: string): string => quoteIdent(dialect, name);
  yield* mainSiteSchema(dialect);
  for (let from = 1; from <= USERS; from += 1_000) {
    const values = Array.from({ length: Math.min(1_000, USERS - from + 1) }, (_, k) => `(${from + k}, 'u${from + k}@example.test', 'u${from + k}', 'x')`);
    yield `INSERT INTO ${q('user')} (id, email, username, password) VALUES ${values.join(', ')}`;
  }
  yield `INSERT INTO ${q('operatingsystem')} (id, name, type) VALUES ${OSES.map((name, i) => `(${i + 1}, '${name}', 'linux')`).join(', ')}`;
  yield `INSERT INTO ${q('tariff')} (id, name, price) VALUES (1, 'Start', 300)`;
  for (let from = 0; from < rows; from += 1_000) {
    const values: string[] = [];
    for (let k = from; k < Math.min(rows, from + 1_000); k++) {
      values.push(`(${k + 1}, ${(k % USERS) + 1}, 1, ${(k % OSES.length) + 1}, '${STATUSES[k % STATUSES.length]}', ${100 + k}, 'x')`);
    }
    yield `INSERT INTO ${q('server')} (id, ${q('userId')}, ${q('tariffId')}, ${q('osId')}, status, ${q('proxmoxId')}, ${q('rootPassword')}) VALUES ${values.join(', ')}`;
  }
}

interface Timing {
  readonly wallMs: number[];
  readonly cpuMs: number[];
}

async function measure(config: BillingConfig, rows: number, reps: number): Promise<Timing> {
  const source = createBillingSource(config, { logger: createLogger({ level: 'warn' }) });
  const timing: Timing = { wallMs: [], cpuMs: [] };
  try {
    for (let i = 0; i <= reps; i++) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const { records, rejected } = await source.listRecords(new AbortController().signal);
      const wall = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      if (records.length !== rows || rejected.length > 0) throw new Error(`${config.driver}: ${records.length} records and ${rejected.length} rejected, expected ${rows} records`);
      if (i === 0) continue; // the first run warms the JIT and the server's caches
      timing.wallMs.push(wall);
      timing.cpuMs.push((cpu.user + cpu.system) / 1000);
    }
  } finally {
    await source.close();
  }
  return timing;
}

/** Runs one statement against the benchmark's database. */
type Exec = (sql: string) => Promise<void>;

/** The billing thread's read: unchanged rows, then (each run) 1% of the rows flipped between suspended and not. */
async function measureThreadRead(config: BillingConfig, dialect: Dialect, rows: number, reps: number, exec: Exec): Promise<{ unchanged: Timing; changed: Timing; mapped: number }> {
  const source = createBillingSource(config, { logger: createLogger({ level: 'warn' }) });
  const held = new HeldBilling();
  const unchanged: Timing = { wallMs: [], cpuMs: [] };
  const changed: Timing = { wallMs: [], cpuMs: [] };
  const q = (name: string): string => quoteIdent(dialect, name);
  const flip = `UPDATE ${q('server')} SET status = CASE WHEN status = 'suspended' THEN 'running' ELSE 'suspended' END WHERE id % 100 = 7`;
  let mapped = 0;
  const timed = async (into: Timing | null, expect: 'unchanged' | 'edits'): Promise<void> => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const found = await source.listChanges(new AbortController().signal, held.since());
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (found.kind !== expect && !(into === null && found.kind === 'edits')) throw new Error(`${config.driver}: the thread's read found ${found.kind}, expected ${expect}`);
    if (found.kind === 'edits' && into === changed) mapped = found.delta.inserted.length;
    held.take(found);
    if (into) {
      into.wallMs.push(wall);
      into.cpuMs.push((cpu.user + cpu.system) / 1000);
    }
  };
  try {
    await timed(null, 'edits'); // the first read maps every row
    await timed(null, 'unchanged'); // warms the unchanged path
    for (let i = 0; i < reps; i++) {
      await timed(unchanged, 'unchanged');
      await exec(flip);
      await timed(changed, 'edits');
    }
  } finally {
    await source.close();
  }
  return { unchanged, changed, mapped };
}

function summary(values: readonly number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `${sorted[sorted.length >> 1]!.toFixed(0)} ms (min ${sorted[0]!.toFixed(0)})`;
}

function report(driver: string, rows: number, t: Timing, thread: { unchanged: Timing; changed: Timing; mapped: number }): void {
  const perRowUs = ([...t.cpuMs].sort((a, b) => a - b)[t.cpuMs.length >> 1]! * 1000) / rows;
  console.log(`${driver.padEnd(9)} listRecords            wall ${summary(t.wallMs).padEnd(20)} CPU ${summary(t.cpuMs).padEnd(20)} ${perRowUs.toFixed(2)} µs CPU per row`);
  console.log(`${''.padEnd(9)} thread, rows unchanged wall ${summary(thread.unchanged.wallMs).padEnd(20)} CPU ${summary(thread.unchanged.cpuMs)}`);
  console.log(`${''.padEnd(9)} thread, 1% changed     wall ${summary(thread.changed.wallMs).padEnd(20)} CPU ${summary(thread.changed.cpuMs).padEnd(20)} ${thread.mapped} rows mapped`);
}

async function sqlite(rows: number, reps: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'billing-bench-'));
  try {
    const file = join(dir, 'billing.db');
    const db = new Database(file);
    db.transaction(() => {
      for (const sql of statements('sqlite', rows)) db.exec(sql);
    })();
    const config: BillingConfig = { driver: 'sqlite', url: file, timeoutMs: 60_000 };
    const timing = await measure(config, rows, reps);
    const thread = await measureThreadRead(config, 'sqlite', rows, reps, async (sql) => void db.exec(sql));
    db.close();
    report('sqlite', rows, timing, thread);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The admin URL with its database replaced by the benchmark's own. */
function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function mysqlDriver(adminUrl: string, rows: number, reps: number): Promise<void> {
  const { default: mysql } = await import('mysql2/promise');
  const admin = await mysql.createConnection(adminUrl);
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${DATABASE}`);
    await admin.query(`CREATE DATABASE ${DATABASE}`);
    await admin.query(`USE ${DATABASE}`);
    for (const sql of statements('mysql', rows)) await admin.query(sql);
    const config: BillingConfig = { driver: 'mysql', url: withDatabase(adminUrl, DATABASE), timeoutMs: 60_000 };
    const timing = await measure(config, rows, reps);
    report('mysql', rows, timing, await measureThreadRead(config, 'mysql', rows, reps, async (sql) => void (await admin.query(sql))));
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${DATABASE}`).catch(() => undefined);
    await admin.end();
  }
}

async function postgresDriver(adminUrl: string, rows: number, reps: number): Promise<void> {
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${DATABASE}`);
    await admin.query(`CREATE DATABASE ${DATABASE}`);
    const url = withDatabase(adminUrl, DATABASE);
    const seed = new pg.Client({ connectionString: url });
    await seed.connect();
    try {
      for (const sql of statements('postgres', rows)) await seed.query(sql);
      const config: BillingConfig = { driver: 'postgres', url, timeoutMs: 60_000 };
      const timing = await measure(config, rows, reps);
      report('postgres', rows, timing, await measureThreadRead(config, 'postgres', rows, reps, async (sql) => void (await seed.query(sql))));
    } finally {
      await seed.end();
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${DATABASE}`).catch(() => undefined);
    await admin.end();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '98000' },
      reps: { type: 'string', default: '9' },
      mysql: { type: 'string', default: process.env.BILLING_TEST_MYSQL_URL ?? '' },
      postgres: { type: 'string', default: process.env.BILLING_TEST_POSTGRES_URL ?? '' },
    },
  });
  const rows = Number(values.rows);
  const reps = Number(values.reps);
  if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(reps) || reps < 1) throw new Error('--rows and --reps must be positive whole numbers');
  console.log(`billing query over ${rows} rows (built-in query, main site's layout), ${reps} runs after one warm-up; Node ${process.version}`);
  await sqlite(rows, reps);
  if (values.mysql) await mysqlDriver(values.mysql, rows, reps);
  else console.log('mysql     skipped: no --mysql URL (or BILLING_TEST_MYSQL_URL)');
  if (values.postgres) await postgresDriver(values.postgres, rows, reps);
  else console.log('postgres  skipped: no --postgres URL (or BILLING_TEST_POSTGRES_URL)');
}

main().catch((err: unknown) => {
  console.error(`billing-bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
