// The outbox in the state store: journal before the send, resolution and snapshot in one
// transaction after the answer, retries reusing their item, recovery after a crash, and the
// operator's `resolve` from another process.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PassSummary } from '../../src/engine/control.js';
import { journaledEntry } from '../../src/store/outbox-journal.js';
import type { StateStore } from '../../src/store/state-store.js';
import { create, openStore, panelFields, raw, remove, tempState, update } from './helpers.js';

const NOW = 1_700_000_000_000;

describe('outbox', () => {
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

  /** The store's group commit, every call journaled (none of these tests supersedes one). */
  const groupCommit = (...args: Parameters<StateStore['resolveAndJournal']>) => store.resolveAndJournal(...args).map(journaledEntry);
  const rowCount = (): number => raw(state.path, (db) => (db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n);

  // A create's journal must survive a power cut once the create is sent (else it is sent again: a
  // duplicate); SQLite's NORMAL in WAL mode does not sync a commit to disk, FULL does.
  it('commits that journal a create are synced to disk (synchronous = FULL); the others are not', () => {
    const synchronous = (): unknown => (store as unknown as { conn: { pragma(p: string, o: { simple: true }): unknown } }).conn.pragma('synchronous', { simple: true });
    const FULL = 2;
    const NORMAL = 1;
    expect(synchronous()).toBe(NORMAL);
    const [c] = groupCommit([], [{ action: create('100'), passId: 1, now: NOW }]);
    expect(synchronous()).toBe(FULL);
    groupCommit([{ outboxId: c!.id, resolution: { outcome: 'created', panelId: 7 }, now: NOW, action: create('100') }], [{ action: update('100', 7, { status: 'stopped' }), passId: 1, now: NOW }]);
    expect(synchronous()).toBe(NORMAL);
    store.journal(create('101'), 1, NOW);
    expect(synchronous()).toBe(FULL);
    groupCommit([], [{ action: remove('100', 7), passId: 1, now: NOW }, { action: create('102'), passId: 1, now: NOW }]);
    expect(synchronous()).toBe(FULL);
  });

  it('journals a create in flight, then records the VPS and closes the item in one step', () => {
    const action = create('100');
    const entry = store.journal(action, 1, NOW);
    expect(entry.attempts).toBe(1);
    expect(store.openOutbox()).toEqual([
      expect.objectContaining({ id: entry.id, key: 'pve1/100', kind: 'create', state: 'in_flight', failure: null, panelId: null, attempts: 1, fields: panelFields({ name: 'vm100' }), owner: { userId: 7, billingId: 'b100' } }),
    ]);
    expect(store.outboxCounts()).toEqual({ inFlight: 1, failed: 0, rejected: 0, ambiguous: 0 });

    store.resolve(entry.id, { outcome: 'created', panelId: 501 }, NOW + 1);
    expect(store.openOutbox()).toEqual([]);
    expect(rowCount()).toBe(0); // a finished call leaves no row behind
    expect(store.snapshot()).toEqual([
      { key: 'pve1/100', source: 'pve1', externalId: '100', panelId: 501, owner: { userId: 7, billingId: 'b100' }, sent: panelFields({ name: 'vm100' }), missingPasses: 0 },
    ]);
  });

  it('group-commits creates and their answers, many rows per statement, in order', () => {
    const actions = Array.from({ length: 40 }, (_, i) => create(String(100 + i)));
    const first = groupCommit([], actions.slice(0, 37).map((action) => ({ action, passId: 1, now: NOW })));
    expect(first.map((e) => e.attempts)).toEqual(Array(37).fill(1));
    const ids = first.map((e) => e.id);
    expect(new Set(ids).size).toBe(37);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids); // in call order
    expect(store.openOutbox().map((i) => i.key)).toEqual(actions.slice(0, 37).map((a) => a.key));

    const second = groupCommit(
      first.map((e, i) => ({ outboxId: e.id, resolution: { outcome: 'created' as const, panelId: 1000 + i }, now: NOW + 1, action: actions[i]! })),
      actions.slice(37).map((action) => ({ action, passId: 1, now: NOW + 1 })),
    );
    expect(Math.min(...second.map((e) => e.id))).toBeGreaterThan(Math.max(...ids));
    expect(store.openOutbox().map((i) => i.key)).toEqual(['pve1/137', 'pve1/138', 'pve1/139']);
    const snapshot = new Map(store.snapshot().map((e) => [e.key, e]));
    expect(snapshot.size).toBe(37);
    expect(snapshot.get('pve1/136')).toMatchObject({ panelId: 1036, owner: { userId: 7, billingId: 'b136' }, sent: panelFields({ name: 'vm136' }) });
  });

  it('a call sent again after a failure reuses its item (same id, next attempt), alone or in a group', () => {
    const a = create('100', { cpu: 2 });
    const first = store.journal(a, 1, NOW);
    store.resolve(first.id, { outcome: 'failed', failure: 'retryable', error: 'retryable: 503', nextAttemptAt: NOW + 5000 }, NOW + 1);
    expect(store.openOutbox()).toEqual([expect.objectContaining({ id: first.id, state: 'failed', failure: 'retryable', attempts: 1, nextAttemptAt: NOW + 5000, lastError: 'retryable: 503' })]);

    // A second try, alone.
    const again = create('100', { cpu: 4 });
    const second = store.journal(again, 2, NOW + 10);
    expect(second).toEqual({ id: first.id, attempts: 2 });
    expect(store.openOutbox()).toEqual([expect.objectContaining({ id: first.id, state: 'in_flight', failure: null, attempts: 2, fields: panelFields({ name: 'vm100', cpu: 4 }) })]);
    store.resolve(second.id, { outcome: 'failed', failure: 'retryable', error: 'retryable: 503', nextAttemptAt: null }, NOW + 11);

    // A third, in a group between new creates (the fast multi-row path on either side of it).
    const calls = [create('099'), create('098'), again, create('101'), create('102'), update('200', 9)].map((action) => ({ action, passId: 3, now: NOW + 20 }));
    const entries = groupCommit([], calls);
    expect(entries[2]).toEqual({ id: first.id, attempts: 3 });
    expect(entries.filter((_, i) => i !== 2).every((e) => e.attempts === 1 && e.id > first.id)).toBe(true);
    expect(new Set(entries.map((e) => e.id)).size).toBe(6);
    const open = store.openOutbox();
    expect(open).toHaveLength(6);
    expect(open.every((i) => i.state === 'in_flight')).toBe(true);
    expect(open.find((i) => i.id === entries[5]!.id)).toMatchObject({ key: 'pve1/200', kind: 'update', panelId: 9 });

    // Success closes the reused item like any other.
    groupCommit(
      calls.map((c, i) => ({ outboxId: entries[i]!.id, resolution: c.action.kind === 'create' ? { outcome: 'created' as const, panelId: 300 + i } : { outcome: 'updated' as const }, now: NOW + 30, action: c.action })),
      [],
    );
    expect(store.openOutbox()).toEqual([]);
    expect(store.snapshot().find((e) => e.key === 'pve1/100')).toMatchObject({ panelId: 302, sent: panelFields({ name: 'vm100', cpu: 4 }) });
    // The next create of that VM (its VPS deleted and the VM rebuilt, say) is a new item again.
    expect(store.journal(create('100'), 4, NOW + 40).attempts).toBe(1);
  });

  it('never hands out the id of a call resolved earlier, even after every row is gone', () => {
    const a = store.journal(create('100'), 1, NOW);
    store.resolve(a.id, { outcome: 'created', panelId: 1 }, NOW);
    const b = store.journal(create('101'), 1, NOW);
    expect(b.id).toBeGreaterThan(a.id);
    store.resolve(b.id, { outcome: 'created', panelId: 2 }, NOW);
    expect(rowCount()).toBe(0);
    const c = groupCommit([], [create('102'), create('103')].map((action) => ({ action, passId: 1, now: NOW })));
    expect(c[0]!.id).toBeGreaterThan(b.id);
  });

  it('a stale resolution (its item was forgotten by `resolve` meanwhile) does not touch a newer call', () => {
    const a = create('100');
    const first = store.journal(a, 1, NOW);
    // The operator forgets the VM while its create is on the way (another process).
    const cli = openStore(state.path);
    expect(cli.forget('pve1/100')).toBe(true);
    cli.close();
    const b = create('101');
    const second = store.journal(b, 1, NOW);
    expect(second.id).not.toBe(first.id);
    // The answers to the forgotten call, as apply records them (with the action): they touch no other row.
    groupCommit([{ outboxId: first.id, resolution: { outcome: 'failed', failure: 'retryable', error: 'x', nextAttemptAt: null }, now: NOW, action: a }], []);
    groupCommit([{ outboxId: first.id, resolution: { outcome: 'created', panelId: 9 }, now: NOW, action: a }], []);
    expect(store.openOutbox()).toEqual([expect.objectContaining({ id: second.id, key: 'pve1/101', state: 'in_flight' })]);
  });

  it('updates and deletes change the snapshot entry they were sent for', () => {
    const c = store.journal(create('100'), 1, NOW);
    store.resolve(c.id, { outcome: 'created', panelId: 50 }, NOW);
    const u = update('100', 50, { status: 'stopped' });
    const ue = store.journal(u, 2, NOW + 1);
    groupCommit([{ outboxId: ue.id, resolution: { outcome: 'updated' }, now: NOW + 2, action: u }], []);
    expect(store.snapshot()[0]).toMatchObject({ panelId: 50, sent: panelFields({ name: 'vm100', status: 'stopped' }) });
    const d = remove('100', 50);
    const de = store.journal(d, 3, NOW + 3);
    store.resolve(de.id, { outcome: 'deleted' }, NOW + 4); // without the action: read back from the row
    expect(store.snapshot()).toEqual([]);
    expect(store.openOutbox()).toEqual([]);
  });

  // The panel hands an id out again once its VPS is gone (deleted on the panel, the panel's database
  // restored, InnoDB's counter reset by a restart). The VM we still held it for must not keep it:
  // its next update would rewrite — and its delete remove — the other customer's new VPS.
  describe('a create answered with a panel id the snapshot holds for another VM', () => {
    const created = (id: number, panelId: number) => ({ outboxId: id, resolution: { outcome: 'created' as const, panelId }, now: NOW + 1 });

    it.each([
      ['alone (single resolve)', false],
      ['in a group commit with other creates', true],
    ])('%s: the old entry and its open update are dropped, reported once, the new VM holds the id', (_name, grouped) => {
      const old = store.journal(create('100'), 1, NOW);
      store.resolve(old.id, { outcome: 'created', panelId: 7 }, NOW);
      // An update of the old VPS failed and waits for a retry.
      const u = update('100', 7, { status: 'stopped' });
      const ue = store.journal(u, 2, NOW);
      store.resolve(ue.id, { outcome: 'failed', failure: 'retryable', error: 'x', nextAttemptAt: null }, NOW);

      const fresh = [create('200'), create('201'), create('202')];
      const entries = groupCommit([], fresh.map((action) => ({ action, passId: 3, now: NOW })));
      if (grouped) {
        groupCommit(entries.map((e, i) => ({ ...created(e.id, [8, 7, 9][i]!), action: fresh[i]! })), []);
      } else {
        entries.forEach((e, i) => store.resolve(e.id, { outcome: 'created', panelId: [8, 7, 9][i]! }, NOW + 1));
      }

      expect(store.snapshot().map((e) => [e.key, e.panelId]).sort()).toEqual([['pve1/200', 8], ['pve1/201', 7], ['pve1/202', 9]]);
      expect(store.openOutbox()).toEqual([]); // the stale update would have rewritten pve1/201's VPS
      expect(store.takeReassignedPanelIds()).toEqual([{ panelId: 7, formerKey: 'pve1/100', key: 'pve1/201' }]);
      expect(store.takeReassignedPanelIds()).toEqual([]);
      // What the file says, not only the cache.
      const reopened = openStore(state.path, true);
      expect(reopened.snapshot().map((e) => e.key).sort()).toEqual(['pve1/200', 'pve1/201', 'pve1/202']);
      reopened.close();
    });

    it('its own id back (a VPS recreated under the id it had) is no reassignment', () => {
      const a = store.journal(create('100'), 1, NOW);
      store.resolve(a.id, { outcome: 'created', panelId: 7 }, NOW);
      const again = store.journal(create('100', { cpu: 4 }), 2, NOW);
      store.resolve(again.id, { outcome: 'created', panelId: 7 }, NOW + 1);
      expect(store.snapshot()).toEqual([expect.objectContaining({ key: 'pve1/100', panelId: 7, sent: panelFields({ name: 'vm100', cpu: 4 }) })]);
      expect(store.takeReassignedPanelIds()).toEqual([]);
    });

    it('two creates of one group answered with the same id (a broken panel): the later one keeps it', () => {
      const fresh = [create('200'), create('201')];
      const entries = groupCommit([], fresh.map((action) => ({ action, passId: 3, now: NOW })));
      groupCommit(entries.map((e, i) => ({ ...created(e.id, 5), action: fresh[i]! })), []);
      expect(store.snapshot().map((e) => [e.key, e.panelId])).toEqual([['pve1/201', 5]]);
      expect(store.takeReassignedPanelIds()).toEqual([{ panelId: 5, formerKey: 'pve1/200', key: 'pve1/201', answeredTwice: true }]);
    });

    it('a rolled-back group commit reports nothing', () => {
      const old = store.journal(create('100'), 1, NOW);
      store.resolve(old.id, { outcome: 'created', panelId: 7 }, NOW);
      const e = store.journal(create('200'), 2, NOW);
      const bogus = create('300');
      // The second resolution names an item that does not exist and has no action: the transaction throws.
      expect(() => groupCommit([{ ...created(e.id, 7), action: create('200') }, { outboxId: 999_999, resolution: { outcome: 'updated' }, now: NOW }], [{ action: bogus, passId: 2, now: NOW }])).toThrow();
      expect(store.takeReassignedPanelIds()).toEqual([]);
      expect(store.snapshot().map((s) => [s.key, s.panelId])).toEqual([['pve1/100', 7]]);
    });
  });

  it('records failures and ambiguous creates on the item, with or without the action', () => {
    const a = create('100');
    const u = update('101', 7);
    const [ae, ue] = groupCommit([], [a, u].map((action) => ({ action, passId: 1, now: NOW })));
    groupCommit(
      [
        { outboxId: ae!.id, resolution: { outcome: 'ambiguous', error: 'ambiguous: timeout' }, now: NOW + 1, action: a },
        { outboxId: ue!.id, resolution: { outcome: 'failed', failure: 'rejected', error: 'rejected: 422', nextAttemptAt: null }, now: NOW + 1 },
      ],
      [],
    );
    expect(store.outboxCounts()).toEqual({ inFlight: 0, failed: 0, rejected: 1, ambiguous: 1 });
    expect(store.ambiguousKeys(10)).toEqual(['pve1/100']);
    expect(() => store.resolve(999_999, { outcome: 'vanished' }, NOW)).toThrow(/outbox item 999999 not found/);
    // An ambiguous create is never journaled blindly by apply (the gate holds it); closing a failed update by id:
    store.resolve(ue!.id, { outcome: 'vanished' }, NOW + 2);
    expect(store.openOutbox().map((i) => i.key)).toEqual(['pve1/100']);
  });

  it('recovery makes in-flight creates ambiguous and other calls retryable, and a retry then reuses the item', () => {
    const [c, u, d] = groupCommit([], [create('100'), update('101', 7), remove('102', 8)].map((action) => ({ action, passId: 1, now: NOW })));
    store.close(); // the daemon was killed with these calls in flight
    store = openStore(state.path);
    expect(store.recoverInFlight(NOW + 1)).toEqual({ ambiguous: 1, retried: 2 });
    const open = store.openOutbox();
    expect(open.find((i) => i.id === c!.id)).toMatchObject({ state: 'ambiguous', lastError: 'the daemon stopped while this create was in flight' });
    expect(open.find((i) => i.id === u!.id)).toMatchObject({ state: 'failed', failure: 'retryable' });
    expect(open.find((i) => i.id === d!.id)).toMatchObject({ state: 'failed', failure: 'retryable' });
    expect(store.journal(update('101', 7), 2, NOW + 2)).toEqual({ id: u!.id, attempts: 2 });
    expect(groupCommit([], [remove('102', 8), create('103'), create('104')].map((action) => ({ action, passId: 2, now: NOW + 2 })))[0]).toEqual({ id: d!.id, attempts: 2 });
  });

  it('recovery keeps one item per VM and kind when a call was journaled again after its answer could not be recorded', () => {
    // A create whose answer was never recorded (its transaction failed) and, in a later pass, the same create failed:
    const first = store.journal(create('100'), 1, NOW);
    const again = store.journal(create('100'), 2, NOW + 1);
    expect(again.id).not.toBe(first.id);
    store.resolve(again.id, { outcome: 'failed', failure: 'retryable', error: 'retryable: 503', nextAttemptAt: null }, NOW + 2);
    expect(store.recoverInFlight(NOW + 3)).toEqual({ ambiguous: 1, retried: 0 });
    // The create that may have reached the panel wins: ambiguous, never re-sent blindly.
    expect(store.openOutbox()).toEqual([expect.objectContaining({ id: first.id, key: 'pve1/100', kind: 'create', state: 'ambiguous' })]);
  });

  it('`resolve` from another process adopts or recreates an ambiguous create while the daemon keeps journaling', () => {
    const a = create('100');
    const b = create('101');
    const [ae, be] = groupCommit([], [a, b].map((action) => ({ action, passId: 1, now: NOW })));
    groupCommit(
      [
        { outboxId: ae!.id, resolution: { outcome: 'ambiguous', error: 'x' }, now: NOW, action: a },
        { outboxId: be!.id, resolution: { outcome: 'ambiguous', error: 'x' }, now: NOW, action: b },
      ],
      [],
    );
    expect(store.snapshot()).toEqual([]); // cached now

    const cli = openStore(state.path);
    expect(cli.adoptAmbiguous('pve1/100', 777, NOW + 1)).toBe(true);
    expect(cli.adoptAmbiguous('pve1/100', 777, NOW + 1)).toBe(false); // nothing left to adopt
    expect(cli.retryAmbiguous('pve1/101', NOW + 1)).toBe(true);
    expect(cli.retryAmbiguous('pve1/102', NOW + 1)).toBe(false);
    cli.close();

    // The daemon sees the adopted VPS (another process wrote `vps`) and retries the other create on its item.
    expect(store.snapshot()).toEqual([expect.objectContaining({ key: 'pve1/100', panelId: 777, sent: panelFields({ name: 'vm100' }) })]);
    expect(store.openOutbox()).toEqual([expect.objectContaining({ id: be!.id, state: 'failed', failure: 'retryable', lastError: 'operator asked to recreate' })]);
    expect(groupCommit([], [create('101'), create('102'), create('100')].map((action) => ({ action, passId: 2, now: NOW + 2 })))).toEqual([
      { id: be!.id, attempts: 2 },
      { id: expect.any(Number), attempts: 1 },
      { id: expect.any(Number), attempts: 1 }, // its ambiguous item was adopted meanwhile: a new one
    ]);
  });

  it('a failed group commit writes nothing and leaves the store usable', () => {
    const a = create('100');
    const first = store.journal(a, 1, NOW);
    store.resolve(first.id, { outcome: 'failed', failure: 'retryable', error: 'x', nextAttemptAt: null }, NOW);
    // Journal the retry and a bogus call (a delete without a panel id violates nothing, so use a broken resolution instead).
    expect(() =>
      groupCommit(
        [{ outboxId: 424242, resolution: { outcome: 'vanished' }, now: NOW }], // no such item, no action: throws
        [{ action: a, passId: 2, now: NOW }],
      ),
    ).toThrow(/not found/);
    expect(store.openOutbox()).toEqual([expect.objectContaining({ id: first.id, state: 'failed', attempts: 1 })]);
    expect(store.journal(a, 3, NOW + 1)).toEqual({ id: first.id, attempts: 2 });
  });

  it('counts ids again when another writer journaled into the same file', () => {
    const other = openStore(state.path);
    try {
      const mine = store.journal(create('100'), 1, NOW);
      const theirs = other.journal(create('101'), 1, NOW); // counted from the same starting point: taken
      expect(theirs.id).not.toBe(mine.id);
      const group = other.resolveAndJournal([], [create('102'), create('103')].map((action) => ({ action, passId: 1, now: NOW }))).map(journaledEntry);
      const again = groupCommit([], [create('104'), create('105')].map((action) => ({ action, passId: 1, now: NOW })));
      expect(new Set([mine.id, theirs.id, ...group.map((e) => e.id), ...again.map((e) => e.id)]).size).toBe(6);
      expect(store.openOutbox()).toHaveLength(6);
    } finally {
      other.close();
    }
  });

  it('forget drops the open items and the snapshot entry of a VM', () => {
    const c = store.journal(create('100'), 1, NOW);
    store.resolve(c.id, { outcome: 'created', panelId: 5 }, NOW);
    const u = store.journal(update('100', 5), 2, NOW);
    store.resolve(u.id, { outcome: 'failed', failure: 'rejected', error: 'x', nextAttemptAt: null }, NOW);
    expect(store.forget('pve1/100')).toBe(true);
    expect(store.openOutbox()).toEqual([]);
    expect(store.snapshot()).toEqual([]);
    expect(store.forget('pve1/100')).toBe(false);
    expect(store.journal(update('100', 5), 3, NOW).attempts).toBe(1);
  });

  it('the schema refuses values the outbox never holds', () => {
    store.journal(create('100'), 1, NOW);
    raw(state.path, (db) => {
      expect(() => db.prepare("UPDATE outbox SET state = 'done'").run()).toThrow(/CHECK constraint/);
      expect(() => db.prepare("UPDATE outbox SET kind = 'resize'").run()).toThrow(/CHECK constraint/);
      expect(() => db.prepare("UPDATE outbox SET failure = 'maybe'").run()).toThrow(/CHECK constraint/);
      db.prepare("UPDATE outbox SET state = 'failed', failure = 'retryable'").run();
      // A second failed create for the same VM would break "at most one per VM and kind".
      expect(() =>
        db
          .prepare("INSERT INTO outbox (source, external_id, kind, state, attempts, created_at, updated_at) VALUES ('pve1', '100', 'create', 'ambiguous', 1, 0, 0)")
          .run(),
      ).toThrow(/UNIQUE constraint/);
    });
  });

  it('finishPass checkpoints the WAL into the database file', () => {
    const passId = store.startPass(NOW, false);
    const entries = groupCommit([], Array.from({ length: 50 }, (_, i) => ({ action: create(String(100 + i)), passId, now: NOW })));
    groupCommit(
      entries.map((e, i) => ({ outboxId: e.id, resolution: { outcome: 'created' as const, panelId: i + 1 }, now: NOW, action: create(String(100 + i)) })),
      [],
    );
    store.finishPass(passId, NOW + 1, {
      id: passId,
      startedAt: new Date(NOW).toISOString(),
      finishedAt: new Date(NOW + 1).toISOString(),
      result: 'success',
      full: false,
      durationSeconds: 0.001,
      actions: { planned: 50, ok: 50, failed: 0, ambiguous: 0 },
      drift: {} as PassSummary['drift'],
      problems: [],
    });
    // Everything is in the database file: a checkpoint now has nothing left to copy.
    raw(state.path, (db) => {
      const [result] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
      expect(result!.log).toBe(result!.checkpointed);
    });
    expect(store.recentPasses(1)[0]).toMatchObject({ id: passId, result: 'success' });
    expect(store.vpsCount()).toBe(50);
  });

  // A TRUNCATE checkpoint that waits for a reader holds off every other writer meanwhile: `resolve`
  // closing beside a slow `status` stalled the daemon's commits for up to the 5 s busy timeout.
  it('closing a writer does not wait for a reader that holds an old snapshot', () => {
    const other = openStore(state.path); // a second writer: `resolve` beside the daemon
    other.resolve(other.journal(create('100'), 1, NOW).id, { outcome: 'created', panelId: 3 }, NOW);
    raw(state.path, (reader) => {
      reader.exec('BEGIN');
      reader.prepare('SELECT COUNT(*) FROM vps').get(); // pins the snapshot before the next write
      store.resolve(store.journal(create('101'), 1, NOW).id, { outcome: 'created', panelId: 4 }, NOW);
      const started = performance.now();
      other.close();
      expect(performance.now() - started).toBeLessThan(1000); // waited the 5 s busy timeout before
      store.resolve(store.journal(create('102'), 1, NOW).id, { outcome: 'created', panelId: 5 }, NOW);
      reader.exec('COMMIT');
    });
    expect(store.vpsCount()).toBe(3);
  });

  it('a read-only store reads the outbox and the snapshot beside the writer', () => {
    const c = store.journal(create('100'), 1, NOW);
    const ro = openStore(state.path, true);
    try {
      expect(ro.openOutbox()).toEqual([expect.objectContaining({ id: c.id, state: 'in_flight' })]);
      store.resolve(c.id, { outcome: 'created', panelId: 3 }, NOW);
      expect(ro.openOutbox()).toEqual([]);
      expect(ro.snapshot()).toEqual([expect.objectContaining({ key: 'pve1/100', panelId: 3 })]);
      expect(() => ro.resolveAndJournal([], [])).toThrow(/read-only/);
    } finally {
      ro.close();
    }
  });
});
