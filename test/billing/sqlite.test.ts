import { readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createBillingSource } from '../../src/billing/index.js';
import { HeldBilling } from '../../src/billing/row-delta.js';
import type { LogSink } from '../../src/util/logger.js';
import { sqliteBackend } from './backends.js';
import { billingScenarios } from './scenarios.js';

billingScenarios(sqliteBackend());
billingScenarios(sqliteBackend(), 'thread');

// A query that fails after its rows are open (the columns are checked on the open result) must
// not leave the file handle behind: the daemon retries every pass, one leaked fd each time.
describe('sqlite: a query failing on its columns leaks no file handle', () => {
  const backend = sqliteBackend();
  afterAll(() => backend.dispose());
  const sink: LogSink = { debug() {}, info() {}, warn() {}, error() {}, child: () => sink };
  const openFds = (): number => readdirSync('/proc/self/fd').length;
  const PASSES = 40;

  const cases: [string, string, 'listRecords' | 'listChanges', RegExp][] = [
    ['no vm_id column', 'SELECT owner AS user_id FROM t', 'listRecords', /has no "vm_id" column/],
    ['two user_id columns', 'SELECT vm AS vm_id, owner AS user_id, vm AS user_id FROM t', 'listRecords', /2 columns named "user_id"/],
    ['no vm_id column, as the billing thread reads', 'SELECT owner AS user_id FROM t', 'listChanges', /has no "vm_id" column/],
  ];
  it.each(cases)('%s (%s, %s)', async (_name, query, how, message) => {
    const db = await backend.createDatabase();
    await db.exec('CREATE TABLE t (vm INTEGER, owner INTEGER)');
    await db.exec(`INSERT INTO t VALUES ${Array.from({ length: 50 }, (_, i) => `(${i + 1}, ${i + 1})`).join(', ')}`);
    const source = createBillingSource({ driver: 'sqlite', url: db.url, query, timeoutMs: 1_000 }, { logger: sink });
    const held = new HeldBilling();
    const pass = (): Promise<unknown> =>
      how === 'listRecords' ? source.listRecords(new AbortController().signal) : source.listChanges(new AbortController().signal, held.since());
    try {
      await expect(pass()).rejects.toThrow(message); // the first pass opens the file, as a working one would
      const before = openFds();
      for (let i = 0; i < PASSES; i++) await expect(pass()).rejects.toThrow(message);
      // Room for unrelated handles of this process, far below one per pass.
      expect(openFds() - before).toBeLessThan(PASSES / 4);
    } finally {
      await source.close();
    }
    // The same file still reads fine afterwards.
    const good = createBillingSource({ driver: 'sqlite', url: db.url, query: 'SELECT vm AS vm_id, owner AS user_id FROM t', timeoutMs: 1_000 }, { logger: sink });
    expect((await good.listRecords(new AbortController().signal)).records).toHaveLength(50);
    await good.close();
  });
});
