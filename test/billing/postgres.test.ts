import { afterAll, describe, expect, it } from 'vitest';
import { createBillingSource } from '../../src/billing/index.js';
import type { LogSink } from '../../src/util/logger.js';
import { seedMainSite } from '../fixtures/billing/seed.js';
import { postgresBackend, uniqueName } from './backends.js';
import { billingScenarios, MAIN_SITE } from './scenarios.js';
import pg from 'pg';

billingScenarios(postgresBackend());
billingScenarios(postgresBackend(), 'thread');

// The built-in query's unqualified "user" resolves through the whole search_path; the probe for
// user.ssoId must look at that same table. Each case logs in as a role of its own (so its search
// path is set on nobody else) and reads a database of its own; both are dropped afterwards.
const backend = postgresBackend();
describe.skipIf(backend.skipReason !== null)('postgres built-in query: the SSO column of the "user" the query reads', () => {
  const roles: string[] = [];
  afterAll(async () => {
    await backend.dispose(); // the databases first: a role that owns objects cannot be dropped
    if (roles.length === 0) return;
    const admin = new pg.Client({ connectionString: process.env.BILLING_TEST_POSTGRES_URL });
    await admin.connect();
    try {
      for (const role of roles) await admin.query(`DROP ROLE IF EXISTS "${role}"`);
    } finally {
      await admin.end();
    }
  });

  // [case, schema for the tables, the role's search_path (null: the default "$user", public), schemas to create]
  const cases: [string, string, string | null, (role: string) => string[]][] = [
    // The usual trap: a schema named after the login role exists (empty), so current_schema() is it.
    ['"$user", public with a schema named after the role', 'public', null, (role) => [role]],
    ['an empty schema first in the search_path, the tables in the second', 'shop', 'billing_empty, shop', () => ['billing_empty', 'shop']],
  ];
  it.each(cases)('%s: user_id comes from user.ssoId, and the log says so', async (_name, tables, searchPath, schemas) => {
    const role = uniqueName();
    roles.push(role);
    const db = await backend.createDatabase();
    await db.exec(`CREATE ROLE "${role}" LOGIN`);
    for (const schema of schemas(role)) {
      if (schema !== 'public') await db.exec(`CREATE SCHEMA "${schema}" AUTHORIZATION "${role}"`);
    }
    await db.exec(`SET search_path = "${tables}"`);
    await seedMainSite((sql) => db.exec(sql), 'postgres', MAIN_SITE);
    await db.exec('ALTER TABLE "user" ADD COLUMN "ssoId" INTEGER NULL');
    await db.exec('UPDATE "user" SET "ssoId" = 500 + "id" WHERE "id" IN (1, 2)');
    await db.exec('RESET search_path');
    await db.exec(`GRANT USAGE ON SCHEMA "${tables}" TO "${role}"`);
    await db.exec(`GRANT SELECT ON ALL TABLES IN SCHEMA "${tables}" TO "${role}"`);
    if (searchPath !== null) await db.exec(`ALTER ROLE "${role}" SET search_path = ${searchPath}`);

    const url = new URL(db.url);
    url.username = role;
    url.password = '';
    const logs: string[] = [];
    const sink: LogSink = { debug() {}, info: (f, m) => void logs.push(m ?? String(f)), warn() {}, error() {}, child: () => sink };
    const source = createBillingSource({ driver: 'postgres', url: url.toString(), timeoutMs: 5_000 }, { logger: sink });
    try {
      const { records, rejected } = await source.listRecords(new AbortController().signal);
      expect(records.map((r) => [r.billingId, r.userId])).toEqual([
        ['1', 501],
        ['2', 502],
        ['3', 501],
        ['6', 502],
      ]);
      expect(rejected).toEqual([expect.objectContaining({ where: 'billing row 4 (billing_id 5)', problem: 'user_id is null' })]);
      expect(logs).toContain('billing: built-in query uses user.ssoId as the panel user id');
    } finally {
      await source.close();
    }
  });

  it('an SSO column the role may not read fails the query loudly instead of falling back to server.userId', async () => {
    const role = uniqueName();
    roles.push(role);
    const db = await backend.createDatabase();
    await db.exec(`CREATE ROLE "${role}" LOGIN`);
    await seedMainSite((sql) => db.exec(sql), 'postgres', MAIN_SITE);
    await db.exec('ALTER TABLE "user" ADD COLUMN "ssoId" INTEGER NULL');
    await db.exec(`GRANT SELECT ON "server", "operatingsystem" TO "${role}"`);
    await db.exec(`GRANT SELECT ("id") ON "user" TO "${role}"`);
    const url = new URL(db.url);
    url.username = role;
    const sink: LogSink = { debug() {}, info() {}, warn() {}, error() {}, child: () => sink };
    const source = createBillingSource({ driver: 'postgres', url: url.toString(), timeoutMs: 5_000 }, { logger: sink });
    try {
      const err = await source.listRecords(new AbortController().signal).then(
        () => undefined,
        (e: unknown) => e as { reason: string; message: string },
      );
      expect(err?.reason).toBe('query');
      expect(err?.message).toMatch(/permission denied/);
    } finally {
      await source.close();
    }
  });
});
