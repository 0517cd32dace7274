// The in-memory snapshot is kept up to date by replaying the store's own writes instead of
// re-reading the table. What users depend on: the daemon plans from exactly what the state file
// holds — after any mix of answers, missing counts, `forget`, failed transactions and writes by
// another process — and a pass after a few changes does not read 100,000 rows back.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Action, SnapshotEntry } from '../../src/domain/types.js';
import { vmKey } from '../../src/domain/types.js';
import { seededRandom } from '../../src/simulators/rng.js';
import { journaledEntry, type Resolution, type ResolutionEntry } from '../../src/store/outbox-journal.js';
import type { StateStore } from '../../src/store/state-store.js';
import { create, openStore, panelFields, raw, remove, tempState, update } from './helpers.js';

const NOW = 1_700_000_000_000;

function byKey(entries: readonly SnapshotEntry[]): SnapshotEntry[] {
  return [...entries].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

describe('snapshot cache', () => {
  let state: ReturnType<typeof tempState>;
  let store: StateStore;

  beforeEach(() => {
    state = tempState();
    store = openStore(state.path);
  });
  afterEach(() => {
    store.close();
    state.cleanup();
  });

  /** What a process opening the file now would read. */
  const fromFile = (): SnapshotEntry[] => {
    const reader = openStore(state.path, true);
    try {
      return byKey(reader.snapshot());
    } finally {
      reader.close();
    }
  };

  /** Journals `actions` and records `outcome(action)` for each, in two group commits as apply() does. */
  const sendAll = (actions: readonly Action[], outcome: (a: Action, i: number) => Resolution, withAction = true): void => {
    const entries = store.resolveAndJournal([], actions.map((action) => ({ action, passId: 1, now: NOW }))).map(journaledEntry);
    store.resolveAndJournal(
      actions.map((action, i) => ({ outboxId: entries[i]!.id, resolution: outcome(action, i), now: NOW + 1, ...(withAction ? { action } : {}) })),
      [],
    );
  };

  it('keeps unchanged entries and replays the store’s own writes on them', () => {
    sendAll([create('100'), create('101'), create('102')], (_, i) => ({ outcome: 'created', panelId: 10 + i }));
    const before = store.snapshot();
    expect(byKey(before)).toEqual(fromFile());

    sendAll([update('101', 11, { status: 'stopped' })], () => ({ outcome: 'updated' }));
    store.setMissingPasses(new Map([[vmKey('pve1', '102'), 2]]));
    const after = store.snapshot();
    expect(byKey(after)).toEqual(fromFile());
    expect(after.find((e) => e.key === 'pve1/101')).toMatchObject({ panelId: 11, sent: panelFields({ name: 'vm101', status: 'stopped' }) });
    expect(after.find((e) => e.key === 'pve1/102')).toMatchObject({ missingPasses: 2 });
    // Not read back: the entry nothing changed is the very same object.
    expect(after.find((e) => e.key === 'pve1/100')).toBe(before.find((e) => e.key === 'pve1/100'));
  });

  it('matches an update or delete by panel id, as the SQL does', () => {
    sendAll([create('100'), create('101')], (_, i) => ({ outcome: 'created', panelId: 10 + i }));
    store.snapshot();
    // Answers for a panel id the snapshot no longer holds (the VPS was recreated meanwhile) change nothing.
    sendAll([update('100', 99, { cpu: 64 }), remove('101', 98)], (a) => ({ outcome: a.kind === 'update' ? 'updated' : 'deleted' }));
    expect(byKey(store.snapshot())).toEqual(fromFile());
    expect(store.snapshot().map((e) => e.panelId).sort()).toEqual([10, 11]);
    sendAll([remove('101', 11)], () => ({ outcome: 'deleted' }));
    expect(byKey(store.snapshot())).toEqual(fromFile());
    expect(store.snapshot().map((e) => e.key)).toEqual(['pve1/100']);
  });

  it('forgets the writes of a transaction that rolled back', () => {
    const a = create('100');
    const b = create('101');
    const [ae, be] = store.resolveAndJournal([], [a, b].map((action) => ({ action, passId: 1, now: NOW }))).map(journaledEntry);
    store.snapshot();
    // The second answer names an outbox item that does not exist: the whole transaction fails,
    // including the first answer's snapshot row.
    const answers: ResolutionEntry[] = [
      { outboxId: ae!.id, resolution: { outcome: 'created', panelId: 10 }, now: NOW, action: a },
      { outboxId: 9_999, resolution: { outcome: 'created', panelId: 11 }, now: NOW },
    ];
    expect(() => store.resolveAndJournal(answers, [])).toThrow(/outbox item 9999 not found/);
    expect(store.snapshot()).toEqual([]);
    expect(fromFile()).toEqual([]);
    store.resolveAndJournal([{ outboxId: be!.id, resolution: { outcome: 'created', panelId: 11 }, now: NOW, action: b }], []);
    expect(byKey(store.snapshot())).toEqual(fromFile());
    expect(store.snapshot().map((e) => e.panelId)).toEqual([11]);
  });

  it('reads the table again after another process wrote it', () => {
    sendAll([create('100'), create('101')], (_, i) => ({ outcome: 'created', panelId: 10 + i }));
    const before = store.snapshot();
    raw(state.path, (db) => db.prepare("UPDATE vps SET name = 'renamed' WHERE external_id = '100'").run());
    const after = store.snapshot();
    expect(byKey(after)).toEqual(fromFile());
    expect(after.find((e) => e.key === 'pve1/100')!.sent.name).toBe('renamed');
    expect(after.find((e) => e.key === 'pve1/101')).not.toBe(before.find((e) => e.key === 'pve1/101'));
  });

  it('stays equal to the file through an initial sync’s worth of writes', () => {
    store.snapshot(); // cached while still empty, as at the start of a daemon's first pass
    const ids = Array.from({ length: 6000 }, (_, i) => String(100 + i));
    for (let i = 0; i < ids.length; i += 50) sendAll(ids.slice(i, i + 50).map((id) => create(id)), (_, k) => ({ outcome: 'created', panelId: i + k + 1 }));
    sendAll([update('150', 51, { status: 'stopped' }), remove('151', 52)], (a) => ({ outcome: a.kind === 'update' ? 'updated' : 'deleted' }));
    const entries = byKey(store.snapshot());
    expect(entries).toHaveLength(5999);
    expect(entries).toEqual(fromFile());
  });

  it('equals the state file after any sequence of writes (seeded random runs)', () => {
    const seed = Number(process.env['CHAOS_SEED'] ?? 20261126);
    const random = seededRandom(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const ids = Array.from({ length: 40 }, (_, i) => String(100 + i));
    const sources = ['pve1', 'pve2'];
    let nextPanelId = 1;
    const current = (): Map<string, SnapshotEntry> => new Map(fromFile().map((e) => [e.key, e]));
    for (let step = 0; step < 300; step++) {
      const known = [...current().values()];
      const roll = random();
      const context = `seed ${seed}, step ${step}`;
      if (roll < 0.3) {
        // A batch of creates: most answered, some failed or ambiguous; with or without the action at hand.
        const actions = Array.from({ length: 1 + Math.floor(random() * 6) }, () => create(pick(ids), { cpu: 1 + Math.floor(random() * 8) }, pick(sources)));
        const unique = [...new Map(actions.map((a) => [a.key, a])).values()];
        sendAll(
          unique,
          () => {
            const r = random();
            if (r < 0.75) return { outcome: 'created', panelId: nextPanelId++ };
            if (r < 0.9) return { outcome: 'failed', failure: 'retryable', error: 'x', nextAttemptAt: null };
            return { outcome: 'ambiguous', error: 'x' };
          },
          random() < 0.5,
        );
      } else if (roll < 0.5 && known.length > 0) {
        const e = pick(known);
        const panelId = random() < 0.8 ? e.panelId : 999_999;
        const action: Action = update(e.externalId, panelId, { status: pick(['running', 'stopped', 'suspended'] as const), ram: 1024 * (1 + Math.floor(random() * 8)) }, e.source);
        sendAll([action], () => (random() < 0.8 ? { outcome: 'updated' } : { outcome: 'vanished' }), random() < 0.5);
      } else if (roll < 0.6 && known.length > 0) {
        const e = pick(known);
        sendAll([remove(e.externalId, random() < 0.8 ? e.panelId : 999_999, e.source)], () => ({ outcome: 'deleted' }), random() < 0.5);
      } else if (roll < 0.72) {
        const counts = new Map(Array.from({ length: 1 + Math.floor(random() * 5) }, () => [vmKey(pick(sources), pick(ids)), Math.floor(random() * 4)] as const));
        store.setMissingPasses(counts);
      } else if (roll < 0.78) {
        store.forget(vmKey(pick(sources), pick(ids)));
      } else if (roll < 0.83) {
        store.adoptAmbiguous(vmKey(pick(sources), pick(ids)), nextPanelId++, NOW);
      } else if (roll < 0.86) {
        // Another process (`resolve`) writes the file beside the daemon.
        const cli = openStore(state.path);
        cli.forget(vmKey(pick(sources), pick(ids)));
        cli.close();
      } else if (roll < 0.9 && known.length > 0) {
        // A transaction that fails part-way: nothing of it may show.
        const e = pick(known);
        const action = update(e.externalId, e.panelId, { name: 'never' }, e.source);
        const [entry] = store.resolveAndJournal([], [{ action, passId: 1, now: NOW }]).map(journaledEntry);
        expect(() =>
          store.resolveAndJournal(
            [
              { outboxId: entry!.id, resolution: { outcome: 'updated' }, now: NOW, action },
              { outboxId: 9_999_999, resolution: { outcome: 'deleted' }, now: NOW },
            ],
            [],
          ),
        ).toThrow();
        store.resolve(entry!.id, { outcome: 'failed', failure: 'retryable', error: 'x', nextAttemptAt: null }, NOW);
      }
      // Compare at random points, so changes pile up between reads as they do over a pass.
      if (random() < 0.4) expect(byKey(store.snapshot()), context).toEqual(fromFile());
    }
    expect(byKey(store.snapshot())).toEqual(fromFile());
    expect(fromFile().length).toBeGreaterThan(10); // the run did build a snapshot worth comparing
  });
});
