// OutboxBatch, apply()'s group commit: every journal and resolution of one event-loop turn in one
// transaction, and a call released for sending only once its in_flight row is committed.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OutboxBatch } from '../../src/engine/outbox-batch.js';
import { journaledEntry } from '../../src/store/outbox-journal.js';
import type { StateStore } from '../../src/store/state-store.js';
import { create, openStore, raw, tempState } from './helpers.js';

const NOW = 1_700_000_000_000;

describe('OutboxBatch', () => {
  let state: ReturnType<typeof tempState>;
  let store: StateStore;
  let transactions: { resolutions: number; calls: number }[];

  beforeEach(() => {
    state = tempState();
    store = openStore(state.path);
    transactions = [];
    const original = store.resolveAndJournal.bind(store);
    store.resolveAndJournal = (resolutions, calls) => {
      transactions.push({ resolutions: resolutions.length, calls: calls.length });
      return original(resolutions, calls);
    };
  });
  afterEach(() => {
    store.close();
    state.cleanup();
  });

  /** What another process sees in the file (committed rows only). */
  const committed = (): { id: number; state: string }[] => raw(state.path, (db) => db.prepare('SELECT id, state FROM outbox ORDER BY id').all() as { id: number; state: string }[]);

  it('commits the journals of one turn together, and releases each call only after that commit', async () => {
    const batch = new OutboxBatch(store, 1);
    const seen: number[][] = [];
    const entries = await Promise.all(
      ['100', '101', '102', '103', '104'].map(async (id) => {
        const entry = journaledEntry(await batch.journal(create(id), NOW));
        seen.push(committed().map((r) => r.id)); // at the moment this call could be sent
        return entry;
      }),
    );
    expect(transactions).toEqual([{ resolutions: 0, calls: 5 }]);
    expect(entries.map((e) => e.attempts)).toEqual([1, 1, 1, 1, 1]);
    for (const ids of seen) expect(ids).toEqual(entries.map((e) => e.id));
    batch.close();
  });

  it('an answer rides with the next journal, and is recorded before it', async () => {
    const batch = new OutboxBatch(store, 1);
    const a = create('100');
    const { id } = journaledEntry(await batch.journal(a, NOW));
    batch.resolve(id, a, { outcome: 'failed', failure: 'retryable', error: 'retryable: 503', nextAttemptAt: null }, NOW + 1);
    const again = await batch.journal(a, NOW + 2); // same turn as the answer: one transaction, the answer first
    expect(again).toEqual({ id, attempts: 2 });
    expect(transactions).toEqual([
      { resolutions: 0, calls: 1 },
      { resolutions: 1, calls: 1 },
    ]);
    batch.resolve(id, a, { outcome: 'created', panelId: 5 }, NOW + 3);
    expect(committed()).toEqual([{ id, state: 'in_flight' }]); // not yet: queued for this turn
    batch.close(); // commits what is left
    expect(committed()).toEqual([]);
    expect(store.snapshot()).toEqual([expect.objectContaining({ key: 'pve1/100', panelId: 5 })]);
  });

  it('after a failed commit nothing more is sent, and close() reports it', async () => {
    const batch = new OutboxBatch(store, 1);
    // An answer for an item that does not exist, without its action, fails the whole transaction.
    batch.resolve(424242, undefined as never, { outcome: 'vanished' }, NOW);
    await expect(batch.journal(create('100'), NOW)).rejects.toThrow(/outbox item 424242 not found/);
    await expect(batch.journal(create('101'), NOW)).rejects.toThrow(/not found/);
    expect(committed()).toEqual([]);
    expect(() => batch.close()).toThrow(/not found/);
  });
});
