// Schema migrations upgrade a state file in place: a daemon upgraded with calls open in its
// outbox (failed, ambiguous, even in flight after a crash) carries them on, and the snapshot with them.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../src/store/migrations.js';
import { journaledEntry } from '../../src/store/outbox-journal.js';
import { create, openStore, panelFields, raw, tempState, update } from './helpers.js';

// Schema version 1 exactly as it shipped (migration 1 is frozen): the file an older build left.
const V1_SCHEMA = `
  CREATE TABLE vps (
    source TEXT NOT NULL, external_id TEXT NOT NULL, panel_id INTEGER NOT NULL, user_id INTEGER NOT NULL, billing_id TEXT,
    name TEXT NOT NULL, cpu INTEGER NOT NULL, ram INTEGER NOT NULL, disk INTEGER NOT NULL, os TEXT NOT NULL, status TEXT NOT NULL,
    hypervisor TEXT NOT NULL, missing_passes INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL,
    PRIMARY KEY (source, external_id)
  ) WITHOUT ROWID;
  CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, external_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('create', 'update', 'delete')), panel_id INTEGER, fields_json TEXT, user_id INTEGER, billing_id TEXT,
    state TEXT NOT NULL CHECK (state IN ('in_flight', 'done', 'failed', 'ambiguous')), failure TEXT CHECK (failure IN ('retryable', 'rejected')),
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER, last_error TEXT, pass_id INTEGER, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX outbox_open ON outbox (source, external_id, kind) WHERE state <> 'done';
  CREATE INDEX outbox_state ON outbox (state, updated_at);
  CREATE TABLE passes (id INTEGER PRIMARY KEY AUTOINCREMENT, started_at INTEGER NOT NULL, finished_at INTEGER, result TEXT, full INTEGER NOT NULL DEFAULT 0, summary_json TEXT);
  CREATE TABLE source_status (name TEXT PRIMARY KEY, kind TEXT NOT NULL, up INTEGER, vms INTEGER, last_error TEXT, last_listed_at INTEGER) WITHOUT ROWID;
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
  PRAGMA user_version = 1;
`;

const T = 1_700_000_000_000;
const fieldsJson = (name: string, over: object = {}) => JSON.stringify(panelFields({ name, ...over }));

/** A version-1 state file the way a daemon leaves it: VPSes, finished calls, and open ones of every state. */
function writeV1(path: string): void {
  raw(path, (db) => {
    db.pragma('journal_mode = WAL');
    db.exec(V1_SCHEMA);
    const vps = db.prepare('INSERT INTO vps VALUES (?, ?, ?, 7, ?, ?, 2, 4096, 32, ?, ?, ?, ?, ?)');
    vps.run('pve1', '100', 11, 'b100', 'vm100', 'Ubuntu 22.04', 'running', 'proxmox', 0, T);
    vps.run('pve1', '101', 12, 'b101', 'vm101', 'Ubuntu 22.04', 'running', 'proxmox', 2, T);
    vps.run('vc1', 'vm-7', 13, null, 'vm7', 'Debian 12', 'stopped', 'vmware', 0, T);
    const outbox = db.prepare(
      'INSERT INTO outbox (source, external_id, kind, panel_id, fields_json, user_id, billing_id, state, failure, attempts, next_attempt_at, last_error, pass_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 7, ?, ?, ?, ?, ?, ?, 1, ?, ?)',
    );
    outbox.run('pve1', '100', 'create', null, fieldsJson('vm100'), 'b100', 'done', null, 1, null, null, T, T); // id 1
    outbox.run('pve1', '101', 'update', 12, fieldsJson('vm101', { status: 'stopped' }), 'b101', 'failed', 'retryable', 3, T + 60_000, 'retryable: 503', T, T + 1); // id 2
    outbox.run('pve1', '102', 'create', null, fieldsJson('vm102'), 'b102', 'ambiguous', null, 1, null, 'ambiguous: timeout', T, T + 2); // id 3
    outbox.run('pve1', '103', 'create', null, fieldsJson('vm103'), 'b103', 'in_flight', null, 1, null, null, T, T + 3); // id 4: the daemon was killed
    outbox.run('pve1', '104', 'update', 14, fieldsJson('vm104', { cpu: 64 }), 'b104', 'failed', 'rejected', 1, null, 'rejected: cpu', T, T + 4); // id 5
    outbox.run('pve1', '101', 'update', 12, fieldsJson('vm101'), 'b101', 'done', null, 1, null, null, T, T + 5); // id 6: an older, finished update of 101
    outbox.run('pve1', '105', 'create', null, fieldsJson('vm105'), 'b105', 'done', null, 2, null, null, T, T + 6); // id 7, the newest id
    db.prepare("INSERT INTO passes (started_at, finished_at, result, full, summary_json) VALUES (?, ?, 'success', 0, NULL)").run(T, T + 10);
    db.prepare("INSERT INTO source_status VALUES ('pve1', 'proxmox', 1, 5, NULL, ?)").run(T);
    db.prepare("INSERT INTO meta VALUES ('last_success_at', ?)").run(String(T + 10));
  });
}

describe('migrations', () => {
  let state: ReturnType<typeof tempState>;
  beforeEach(() => {
    state = tempState();
  });
  afterEach(() => state.cleanup());

  it('creates a new file at the current version', () => {
    openStore(state.path).close();
    expect(raw(state.path, (db) => db.pragma('user_version', { simple: true }))).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(2);
  });

  it('upgrades a version-1 file in place, keeping open outbox items and the snapshot', () => {
    writeV1(state.path);
    const before = openStore(state.path, true); // `status` of the new build before the daemon restarts: reads v1 as is
    const openBefore = before.openOutbox();
    const snapshotBefore = before.snapshot();
    expect(openBefore.map((i) => i.id)).toEqual([2, 3, 4, 5]);
    expect(before.outboxCounts()).toEqual({ inFlight: 1, failed: 1, rejected: 1, ambiguous: 1 });
    before.close();

    const store = openStore(state.path);
    try {
      expect(raw(state.path, (db) => db.pragma('user_version', { simple: true }))).toBe(2);
      // Open items unchanged (ids, states, attempts, backoff, payloads); finished ones gone.
      expect(store.openOutbox()).toEqual(openBefore);
      expect(raw(state.path, (db) => db.prepare('SELECT id FROM outbox ORDER BY id').pluck().all())).toEqual([2, 3, 4, 5]);
      expect(store.snapshot()).toEqual(snapshotBefore);
      expect(store.snapshot()).toHaveLength(3);
      expect(store.snapshot().find((e) => e.key === 'pve1/101')).toMatchObject({ panelId: 12, missingPasses: 2 });
      expect(store.snapshot().find((e) => e.key === 'vc1/vm-7')).toMatchObject({ owner: { userId: 7, billingId: null }, sent: { hypervisor: 'vmware', status: 'stopped' } });
      expect(store.recentPasses(5)).toHaveLength(1);
      expect(store.sourceStatuses()).toEqual([{ name: 'pve1', kind: 'proxmox', up: true, vms: 5, lastError: null, lastListedAt: T, unreported: null, endpoint: null }]);
      expect(store.meta('last_success_at')).toBe(String(T + 10));

      const schema = raw(state.path, (db) => db.prepare("SELECT name, sql FROM sqlite_schema WHERE tbl_name = 'outbox'").all() as { name: string; sql: string }[]);
      expect(schema.map((r) => r.name).sort()).toEqual(['outbox', 'outbox_settled']);
      expect(schema.find((r) => r.name === 'outbox')!.sql).not.toMatch(/AUTOINCREMENT|IN \(/);
      expect(raw(state.path, (db) => db.pragma('integrity_check', { simple: true }))).toBe('ok');

      // The daemon's start: the call killed in flight becomes ambiguous, like any other.
      expect(store.recoverInFlight(T + 100)).toEqual({ ambiguous: 1, retried: 0 });
      expect(store.ambiguousKeys(10)).toEqual(['pve1/102', 'pve1/103']);
      // The failed update is retried on its item; a new call gets a new id.
      expect(store.journal(update('101', 12, { status: 'stopped' }), 2, T + 200)).toEqual({ id: 2, attempts: 4 });
      const fresh = store.resolveAndJournal([], [create('106'), create('107')].map((action) => ({ action, passId: 2, now: T + 200 }))).map(journaledEntry);
      expect(fresh.every((e) => e.id > 5 && e.attempts === 1)).toBe(true);
      expect(store.adoptAmbiguous('pve1/103', 99, T + 300)).toBe(true);
      expect(store.snapshot().find((e) => e.key === 'pve1/103')).toMatchObject({ panelId: 99, sent: panelFields({ name: 'vm103' }) });
    } finally {
      store.close();
    }
    // Opening again changes nothing.
    const again = openStore(state.path);
    expect(again.openOutbox().map((i) => i.key)).toEqual(['pve1/101', 'pve1/102', 'pve1/104', 'pve1/106', 'pve1/107']);
    again.close();
  });

  it('a version-1 file that a second process migrates first is left alone', () => {
    writeV1(state.path);
    const first = openStore(state.path);
    const second = openStore(state.path); // found version 2: nothing to do
    try {
      expect(second.openOutbox()).toEqual(first.openOutbox());
    } finally {
      second.close();
      first.close();
    }
  });

  it('refuses a file written by a newer build and leaves it untouched', () => {
    openStore(state.path).close();
    raw(state.path, (db) => db.pragma(`user_version = ${SCHEMA_VERSION + 1}`));
    expect(() => openStore(state.path)).toThrow(/schema version 3 is newer than this build understands \(2\)/);
    expect(raw(state.path, (db) => db.pragma('user_version', { simple: true }))).toBe(SCHEMA_VERSION + 1);
  });
});
