// The billing scenarios, written once and run on every driver (SQLite always; MariaDB and
// PostgreSQL when their URL is in the environment). Real servers on loopback, no mocks.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BillingError, createBillingSource, createThreadedBillingSource } from '../../src/billing/index.js';
import type { BillingConfig } from '../../src/config/schema.js';
import type { BillingSource } from '../../src/domain/ports.js';
import type { BillingRecord, RejectedItem } from '../../src/domain/types.js';
import { createLogger, type Logger } from '../../src/util/logger.js';
import { quoteIdent, seedMainSite, type MainSiteSeed } from '../fixtures/billing/seed.js';
import type { TestBackend, TestDatabase } from './backends.js';

/** The main site as the scenarios see it: five VMs on Proxmox, one server not created yet. */
export const MAIN_SITE: MainSiteSeed = {
  users: [{ id: 1 }, { id: 2 }, { id: 3 }],
  operatingSystems: [
    { id: 1, name: 'Ubuntu 22.04' },
    { id: 2, name: 'Debian 12' },
    { id: 3, name: 'Windows Server 2022', type: 'windows' },
  ],
  tariffs: [{ id: 1, name: 'Start', price: 299 }],
  servers: [
    { id: 1, userId: 1, osId: 1, status: 'running', proxmoxId: 100, ipAddress: '10.0.0.10' },
    { id: 2, userId: 2, osId: 2, status: 'SUSPENDED', proxmoxId: 101 },
    { id: 3, userId: 1, osId: 3, status: 'blocked', proxmoxId: 102 },
    { id: 4, userId: 3, osId: 1, status: 'creating', proxmoxId: null },
    { id: 5, userId: 3, osId: 2, status: 'stopped', proxmoxId: 103 },
    { id: 6, userId: 2, osId: 1, status: 'Frozen', proxmoxId: 104 },
  ],
  payments: [
    { id: 1, userId: 1, amount: 299 },
    { id: 2, userId: 2, amount: 299, status: 'pending' },
  ],
};

const rec = (billingId: string | null, vmId: string, userId: number, more: Partial<BillingRecord> = {}): BillingRecord => ({
  billingId,
  vmId,
  source: null,
  userId,
  suspended: false,
  os: null,
  name: null,
  ...more,
});

/** A loose table for custom queries: every column is text, so the bad-row cases can be written. */
const SVC_TABLE =
  'CREATE TABLE svc (id INTEGER PRIMARY KEY, node VARCHAR(64), vm VARCHAR(64), owner VARCHAR(64), state VARCHAR(64), os VARCHAR(64), label VARCHAR(64))';
const SVC_ROWS: (string | number | null)[][] = [
  // good rows (id < 10)
  [1, 'pve1', '100', '7', 'active', 'Debian 12', 'web-1'],
  [2, 'vc1', 'vm-1003', '8', 'Frozen', '', ''],
  [3, null, '105', ' 9 ', null, null, null],
  [4, '', '0106', '10', 'BLOCKED', 'AlmaLinux 9', 'db-1'],
  // bad rows (id >= 10)
  [10, 'pve1', '200', null, null, null, null],
  [11, 'pve1', 'abc', '5', null, null, null],
  [12, 'pve1', '201', 'x1', null, null, null],
  [13, 'pve1', '300', '5', null, null, null],
  [14, 'pve1', '300', '6', null, null, null],
  [15, 'pve2', '300', '5', null, null, null],
  [16, 'pve1', '202', '5', null, null, null],
  [17, 'pve1', null, '5', null, null, null],
  [18, 'pve1', '-3', '5', null, null, null],
];
const svcInsert = (row: (string | number | null)[]): string =>
  `INSERT INTO svc (id, node, vm, owner, state, os, label) VALUES (${row
    .map((v) => (v === null ? 'NULL' : typeof v === 'number' ? String(v) : `'${v}'`))
    .join(', ')})`;
const SVC_QUERY = 'SELECT node AS source, vm AS vm_id, owner AS user_id, id AS billing_id, state AS status, os, label AS name FROM svc';

/** A password that must never show up in an error or a log line. */
const SECRET = 'Sup3r-S3cret-pw';

/**
 * Registers the whole scenario table for one driver, run by the source itself (`inline`) or by
 * the billing thread the daemon uses (`thread`: errors, logs and aborts must cross unchanged).
 */
export function billingScenarios(backend: TestBackend, where: 'inline' | 'thread' = 'inline'): void {
  if (backend.skipReason !== null) console.warn(`[billing/${backend.driver}] integration tests skipped: ${backend.skipReason}`);
  const create = where === 'inline' ? createBillingSource : createThreadedBillingSource;

  describe.skipIf(backend.skipReason !== null)(`billing on ${backend.driver}${where === 'thread' ? ', on the billing thread' : ''}`, () => {
    const logLines: string[] = [];
    let logger: Logger;
    let main: TestDatabase;
    const sources: BillingSource[] = [];
    const q = (name: string): string => quoteIdent(backend.dialect, name);

    const open = (over: Partial<BillingConfig> = {}): BillingSource => {
      const source = create({ driver: backend.driver, url: main.url, timeoutMs: 5_000, ...over }, { logger });
      sources.push(source);
      return source;
    };
    const list = (source: BillingSource): Promise<{ records: readonly BillingRecord[]; rejected: readonly RejectedItem[] }> =>
      source.listRecords(new AbortController().signal);
    const failure = async (source: BillingSource, signal = new AbortController().signal): Promise<BillingError> => {
      const err = await source.listRecords(signal).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BillingError);
      return err as BillingError;
    };

    beforeAll(async () => {
      const sink = new Writable({
        write(chunk, _enc, done) {
          logLines.push(String(chunk));
          done();
        },
      });
      logger = createLogger({ level: 'debug', destination: sink });
      main = await backend.createDatabase();
      await seedMainSite((sql) => main.exec(sql), backend.dialect, MAIN_SITE);
      await main.exec(SVC_TABLE);
      for (const row of SVC_ROWS) await main.exec(svcInsert(row));
    });

    afterAll(async () => {
      for (const s of sources) await s.close();
      await backend.dispose();
    });

    it("built-in query on the main site's layout: suspended/blocked mapping, os from the join, NULL proxmoxId left out", async () => {
      const { records, rejected } = await list(open());
      expect(rejected).toEqual([]);
      expect(records).toEqual([
        rec('1', '100', 1, { os: 'Ubuntu 22.04' }),
        rec('2', '101', 2, { os: 'Debian 12', suspended: true }),
        rec('3', '102', 1, { os: 'Windows Server 2022', suspended: true }),
        rec('5', '103', 3, { os: 'Debian 12' }),
        rec('6', '104', 2, { os: 'Ubuntu 22.04', suspended: true }),
      ]);
    });

    it('each query sees the rows as they are now: a status, an owner, a new, a removed and a duplicate server between queries', async () => {
      // The billing thread answers with the difference from what the engine already holds; this
      // is what it must never get wrong. Each step is checked against a fresh inline read.
      const db = await backend.createDatabase();
      await seedMainSite((sql) => db.exec(sql), backend.dialect, MAIN_SITE);
      const source = create({ driver: backend.driver, url: db.url, timeoutMs: 5_000 }, { logger });
      sources.push(source);
      const fresh = (): Promise<{ records: readonly BillingRecord[] }> => {
        const inline = createBillingSource({ driver: backend.driver, url: db.url, timeoutMs: 5_000 }, { logger });
        sources.push(inline);
        return list(inline);
      };
      const server = q('server');
      const steps = [
        '',
        `UPDATE ${server} SET status = 'suspended' WHERE id = 1`,
        `UPDATE ${server} SET ${q('userId')} = 1 WHERE id = 5`,
        `INSERT INTO ${server} (id, ${q('userId')}, ${q('tariffId')}, ${q('osId')}, status, ${q('proxmoxId')}, ${q('rootPassword')}) VALUES (7, 2, 1, 2, 'running', 105, 'x')`,
        `DELETE FROM ${server} WHERE id = 2`,
        // A second server claiming VM 105: both rows are rejected (the thread reads the rows again to name them), then it goes.
        `INSERT INTO ${server} (id, ${q('userId')}, ${q('tariffId')}, ${q('osId')}, status, ${q('proxmoxId')}, ${q('rootPassword')}) VALUES (8, 1, 1, 2, 'running', 105, 'x')`,
        `DELETE FROM ${server} WHERE id = 8`,
        '',
      ];
      let before: readonly BillingRecord[] = [];
      for (const step of steps) {
        if (step !== '') await db.exec(step);
        const now = (await list(source)).records;
        expect(now).toEqual((await fresh()).records);
        if (step.includes('VALUES (8,')) expect(now.map((r) => r.billingId)).not.toContain('7');
        if (step === '' && before.length > 0) expect(now).toEqual(before);
        before = now;
      }
      expect(before.map((r) => [r.billingId, r.userId, r.suspended])).toEqual([
        ['1', 1, true],
        ['3', 1, true],
        ['5', 1, false],
        ['6', 2, true],
        ['7', 2, false],
      ]);
    });

    it('built-in query takes user_id from user.ssoId when the column exists; a user without one is rejected', async () => {
      const db = await backend.createDatabase();
      // Before the tables exist the built-in query fails with a hint, and must not settle on a guess.
      const source = create({ driver: backend.driver, url: db.url, timeoutMs: 5_000 }, { logger });
      sources.push(source);
      const early = await failure(source);
      expect(early.reason).toBe('query');
      expect(early.message).toContain('built-in query');

      await seedMainSite((sql) => db.exec(sql), backend.dialect, MAIN_SITE);
      await db.exec(`ALTER TABLE ${q('user')} ADD COLUMN ${q('ssoId')} INTEGER NULL`);
      await db.exec(`UPDATE ${q('user')} SET ${q('ssoId')} = 500 + ${q('id')} WHERE ${q('id')} IN (1, 2)`);
      const { records, rejected } = await list(source);
      expect(records.map((r) => [r.billingId, r.userId])).toEqual([
        ['1', 501],
        ['2', 502],
        ['3', 501],
        ['6', 502],
      ]);
      expect(rejected).toEqual([expect.objectContaining({ where: 'billing row 4 (billing_id 5)', problem: 'user_id is null' })]);
    });

    it('custom query with source, vSphere ids, status words, empty strings as null', async () => {
      const { records, rejected } = await list(open({ query: `${SVC_QUERY} WHERE id < 10 ORDER BY id` }));
      expect(rejected).toEqual([]);
      expect(records).toEqual([
        rec('1', '100', 7, { source: 'pve1', os: 'Debian 12', name: 'web-1' }),
        rec('2', 'vm-1003', 8, { source: 'vc1', suspended: true }),
        rec('3', '105', 9),
        rec('4', '106', 10, { suspended: true, os: 'AlmaLinux 9', name: 'db-1' }),
      ]);
    });

    it('custom query over typed columns: integer ids, upper-case aliases, a literal source', async () => {
      const query = `SELECT 'pve1' AS SOURCE, s.${q('proxmoxId')} AS VM_ID, s.${q('userId')} AS USER_ID, s.${q('id')} AS BILLING_ID FROM ${q('server')} s WHERE s.${q('proxmoxId')} IS NOT NULL ORDER BY s.${q('id')}`;
      const { records, rejected } = await list(open({ query }));
      expect(rejected).toEqual([]);
      expect(records.map((r) => [r.source, r.vmId, r.userId, r.billingId])).toEqual([
        ['pve1', '100', 1, '1'],
        ['pve1', '101', 2, '2'],
        ['pve1', '102', 1, '3'],
        ['pve1', '103', 3, '5'],
        ['pve1', '104', 2, '6'],
      ]);
    });

    it('integers beyond 2^53 are read exactly, never rounded: a big vm_id and billing_id are kept, a big user_id is rejected as too large', async () => {
      const query = 'SELECT 9007199254740993 AS vm_id, 7 AS user_id, 9007199254740995 AS billing_id UNION ALL SELECT 100, 9007199254740993, 2';
      const { records, rejected } = await list(open({ query }));
      expect(records.map((r) => [r.vmId, r.userId, r.billingId])).toEqual([['9007199254740993', 7, '9007199254740995']]);
      expect(rejected.map((r) => [r.where, r.problem])).toEqual([['billing row 2 (billing_id 2)', 'user_id is too large: 9007199254740993']]);
    });

    it('bad rows are rejected with their billing_id while the good rows still come back', async () => {
      const { records, rejected } = await list(open({ query: `${SVC_QUERY} WHERE id >= 10 ORDER BY id` }));
      expect(records).toEqual([rec('15', '300', 5, { source: 'pve2' }), rec('16', '202', 5, { source: 'pve1' })]);
      expect(rejected.map((r) => r.where)).toEqual([
        'billing row 1 (billing_id 10)',
        'billing row 2 (billing_id 11)',
        'billing row 3 (billing_id 12)',
        'billing row 4 (billing_id 13)',
        'billing row 5 (billing_id 14)',
        'billing row 8 (billing_id 17)',
        'billing row 9 (billing_id 18)',
      ]);
      const problem = (billingId: string): string => rejected.find((r) => r.where.endsWith(`(billing_id ${billingId})`))!.problem;
      expect(problem('10')).toBe('user_id is null');
      expect(problem('11')).toBe('vm_id is not a positive integer or a vSphere id (vm-123): "abc"');
      expect(problem('12')).toBe('user_id is not a positive integer: "x1"');
      expect(problem('13')).toBe('duplicate (source, vm_id) (pve1, 300): 2 rows claim it (billing_id 13, billing_id 14); none is used');
      expect(problem('14')).toBe(problem('13'));
      expect(problem('17')).toBe('vm_id is null');
      expect(problem('18')).toBe('vm_id is not a positive integer or a vSphere id (vm-123): "-3"');
    });

    it('a query without a vm_id column is a clear query error', async () => {
      const err = await failure(open({ query: 'SELECT id AS billing_id, owner AS user_id FROM svc' }));
      expect(err.reason).toBe('query');
      expect(err.message).toMatch(/^billing \(.+\): the query result has no "vm_id" column \(it has: billing_id, user_id\)/);
    });

    it('two result columns naming the same contract column fail the whole query, naming the column and positions (never the first one silently)', async () => {
      // A shop table with its own user_id/status, read with sv.* next to the aliases: the shop's
      // user_id (7, 8) must never be taken for the panel's SSO id (9001, 9002).
      const db = await backend.createDatabase();
      await db.exec('CREATE TABLE shop_services (id INTEGER, vm_ref VARCHAR(64), user_id INTEGER, status VARCHAR(64))');
      await db.exec('CREATE TABLE sso_link (user_id INTEGER, sso_id INTEGER)');
      await db.exec("INSERT INTO shop_services (id, vm_ref, user_id, status) VALUES (1, '104', 7, 'overdue'), (2, '105', 8, 'active')");
      await db.exec('INSERT INTO sso_link (user_id, sso_id) VALUES (7, 9001), (8, 9002)');
      const from = 'FROM shop_services sv LEFT JOIN sso_link l ON l.user_id = sv.user_id ORDER BY sv.id';
      const cases: [string, string, RegExp][] = [
        [
          'exact names',
          `SELECT sv.*, sv.vm_ref AS vm_id, l.sso_id AS user_id, CASE WHEN sv.status = 'overdue' THEN 'suspended' ELSE sv.status END AS status ${from}`,
          /the query result has 2 columns named "user_id" \(column 3 "user_id", column 6 "user_id"\) and 2 columns named "status" \(column 4 "status", column 7 "status"\); alias only one of them as user_id, status/,
        ],
        // MySQL and SQLite keep an alias's case, PostgreSQL folds it: a duplicate either way.
        ['upper-case aliases', `SELECT sv.*, sv.vm_ref AS VM_ID, l.sso_id AS USER_ID ${from}`, /2 columns named "user_id" \(column 3 "user_id", column 6 "(USER_ID|user_id)"\); alias only one of them as user_id/],
        ['a required column twice', `SELECT sv.vm_ref AS vm_id, l.sso_id AS user_id, sv.vm_ref AS vm_id ${from}`, /2 columns named "vm_id" \(column 1 "vm_id", column 3 "vm_id"\)/],
      ];
      for (const [name, query, message] of cases) {
        const err = await failure(open({ url: db.url, query }));
        expect(err.reason, name).toBe('query');
        expect(err.message, name).toMatch(message);
        expect(err.message, name).not.toMatch(/has no "/);
      }
      // Listing the columns instead reads the panel's ids.
      const { records } = await list(open({ url: db.url, query: `SELECT sv.id AS billing_id, sv.vm_ref AS vm_id, l.sso_id AS user_id ${from}` }));
      expect(records.map((r) => [r.vmId, r.userId])).toEqual([
        ['104', 9001],
        ['105', 9002],
      ]);
    });

    it('a flag as status (PostgreSQL boolean, MySQL/SQLite 1) rejects the row, saying what it got and that text is expected', async () => {
      const query = 'SELECT 104 AS vm_id, 5 AS user_id, 9 AS billing_id, TRUE AS status UNION ALL SELECT 105, 5, 10, FALSE';
      const { records, rejected } = await list(open({ query }));
      expect(records).toEqual([]);
      const given = backend.dialect === 'postgres' ? ['a boolean (true)', 'a boolean (false)'] : ['a number (1)', 'a number (0)'];
      expect(rejected.map((r) => [r.where, r.vmId, r.problem.replace(/, expected text .*/, '')])).toEqual([
        ['billing row 1 (billing_id 9)', '104', `status is ${given[0]}`],
        ['billing row 2 (billing_id 10)', '105', `status is ${given[1]}`],
      ]);
      expect(rejected[0]!.problem).toContain("expected text such as 'suspended'");
    });

    it('a query the database refuses is a query error carrying the database message', async () => {
      const err = await failure(open({ query: 'SELECT nosuchcolumn AS vm_id, owner AS user_id FROM svc' }));
      expect(err.reason).toBe('query');
      expect(err.message).toMatch(/query failed: .*nosuchcolumn/i);
      expect(err.message.split('\n')).toHaveLength(1);
    });

    it('writes are impossible: a DELETE or a smuggled second statement fails and changes nothing', async () => {
      const before = await main.count('svc');
      for (const query of ['DELETE FROM svc WHERE id = 1', 'SELECT 1 AS vm_id, 1 AS user_id; DELETE FROM svc']) {
        const err = await failure(open({ query }));
        expect(err.reason).toBe('query');
      }
      expect(await main.count('svc')).toBe(before);
    });

    it('bad credentials give an auth error without the password', async () => {
      if (!backend.badAuthUrl) return; // SQLite has no users
      const err = await failure(open({ url: backend.badAuthUrl(SECRET) }));
      expect(err.reason).toBe('auth');
      expect(err.message).toMatch(/^billing \(\w+:\/\/billing_no_such_user:\*\*\*@.+\): authentication failed/);
      expect(err.message).not.toContain(SECRET);
    });

    it('an unreachable database gives a connect error without the password', async () => {
      const err = await failure(open({ url: await backend.unreachableUrl(SECRET) }));
      expect(err.reason).toBe('connect');
      expect(err.message).toMatch(backend.driver === 'sqlite' ? /cannot open the database file/ : /: connection refused$/);
      expect(err.message).not.toContain(SECRET);
    });

    it('a query that outlasts timeoutMs is a timeout error, and the next call works', async () => {
      const slow = await main.slowQuery();
      const source = open({ query: slow.query, timeoutMs: 300 });
      let err: BillingError;
      try {
        err = await failure(source);
      } finally {
        await slow.release();
      }
      expect(err.reason).toBe('timeout');
      expect(err.message).toMatch(/timed out after 300 ms|locked for more than 300 ms/);
      // Same source, same (possibly recovered) connection: a quick query now succeeds.
      const fast = open({ query: `${SVC_QUERY} WHERE id = 1`, timeoutMs: 300 });
      expect((await list(fast)).records).toHaveLength(1);
    });

    it('an aborted signal gives up with reason "aborted"', async () => {
      const ac = new AbortController();
      ac.abort(new Error('pass timeout'));
      const err = await failure(open({ query: SVC_QUERY }), ac.signal);
      expect(err.reason).toBe('aborted');
      expect(err.message).toContain('pass timeout');
    });

    it('aborting while a slow query runs returns at once, before the query ends', async () => {
      if (backend.driver === 'sqlite') return; // a synchronous driver cannot be interrupted (see sqlite.ts)
      const slow = await main.slowQuery();
      const ac = new AbortController();
      const pending = failure(open({ query: slow.query, timeoutMs: 5_000 }), ac.signal);
      setTimeout(() => ac.abort(new Error('shutting down')), 100);
      const err = await pending;
      await slow.release();
      expect(err.reason).toBe('aborted');
    });

    it('a connection killed by the server is replaced: the next call reconnects and succeeds', async () => {
      if (!main.killConnections) return; // no server to kill connections
      const source = open({ query: `${SVC_QUERY} WHERE id < 10 ORDER BY id` });
      expect((await list(source)).records).toHaveLength(4);
      expect(await main.killConnections()).toBeGreaterThanOrEqual(1);
      expect((await list(source)).records).toHaveLength(4);
      // The kill racing the next call: whether the driver noticed the dead connection first or the
      // query hit it (then it is replaced and the query run again), the call succeeds.
      for (let i = 0; i < 5; i++) {
        const kill = main.killConnections();
        expect((await list(source)).records).toHaveLength(4);
        await kill;
      }
    });

    it('TLS against a server without TLS is a clear connect error', async () => {
      if (backend.driver === 'sqlite') return; // a file has no TLS
      const err = await failure(open({ tls: { enabled: true, insecure: false } }));
      expect(err.reason).toBe('connect');
      expect(err.message).toMatch(/TLS/);
      const missingCa = await failure(open({ tls: { enabled: true, insecure: false, caFile: '/nonexistent/ca.pem' } }));
      expect(missingCa.reason).toBe('connect');
      expect(missingCa.message).toContain('cannot read billing.tls.caFile /nonexistent/ca.pem');
    });

    it('no log line ever contains the password', () => {
      expect(logLines.length).toBeGreaterThan(0);
      for (const line of logLines) expect(line).not.toContain(SECRET);
    });
  });
}
