// billing-bench.js is a tool, not a test, and CI does not judge its figures; this runs it at a
// tiny size so that it keeps working: it reads every row through the daemon's billing source on
// each database it is given (it exits non-zero when a record is missing or rejected, or when the
// billing thread's read does not find what the tool changed), prints its lines per driver, and
// leaves no database of its own behind on the servers.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const tool = fileURLToPath(new URL('../../dist/bench/billing-bench.js', import.meta.url));
const mysqlUrl = process.env.BILLING_TEST_MYSQL_URL;
const postgresUrl = process.env.BILLING_TEST_POSTGRES_URL;
const run = (args: string[]) => promisify(execFile)(process.execPath, [tool, ...args], { env: { ...process.env, BILLING_TEST_MYSQL_URL: '', BILLING_TEST_POSTGRES_URL: '' } });

/** Whether the benchmark's own database still exists on the server. */
async function leftBehind(driver: 'mysql' | 'postgres', url: string): Promise<boolean> {
  if (driver === 'mysql') {
    const { default: mysql } = await import('mysql2/promise');
    const c = await mysql.createConnection(url);
    try {
      const [rows] = await c.query("SHOW DATABASES LIKE 'vps_sync_billing_bench'");
      return (rows as unknown[]).length > 0;
    } finally {
      await c.end();
    }
  }
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query("SELECT 1 FROM pg_database WHERE datname = 'vps_sync_billing_bench'");
    return r.rowCount !== 0;
  } finally {
    await c.end();
  }
}

describe('billing-bench.js at 300 rows', () => {
  it('reads every row on SQLite and on each server it is given, and drops its databases', async () => {
    const args = ['--rows', '300', '--reps', '2'];
    if (mysqlUrl) args.push('--mysql', mysqlUrl);
    if (postgresUrl) args.push('--postgres', postgresUrl);
    const { stdout } = await run(args);
    const lines = (driver: string): RegExp =>
      new RegExp(
        `^${driver} +listRecords +wall \\d+ ms \\(min \\d+\\) +CPU \\d+ ms \\(min \\d+\\) +[\\d.]+ µs CPU per row\n` +
          ` +thread, rows unchanged +wall \\d+ ms \\(min \\d+\\) +CPU \\d+ ms \\(min \\d+\\)\n` +
          // 1% of 300 rows changed between reads: only those are mapped.
          ` +thread, 1% changed +wall \\d+ ms \\(min \\d+\\) +CPU \\d+ ms \\(min \\d+\\) +3 rows mapped$`,
        'm',
      );
    expect(stdout).toMatch(lines('sqlite'));
    for (const [driver, url] of [['mysql', mysqlUrl], ['postgres', postgresUrl]] as const) {
      if (!url) {
        expect(stdout).toMatch(new RegExp(`^${driver} +skipped: no --${driver} URL`, 'm'));
        continue;
      }
      expect(stdout).toMatch(lines(driver));
      expect(await leftBehind(driver, url)).toBe(false);
    }
  }, 120_000);

  it('refuses a row count that is not a positive whole number, saying which option', async () => {
    const err = await run(['--rows', '0']).then(
      () => null,
      (e: unknown) => e as { code: number; stderr: string },
    );
    expect(err?.code).toBe(1);
    expect(err?.stderr).toContain('billing-bench: --rows and --reps must be positive whole numbers');
  });
});
