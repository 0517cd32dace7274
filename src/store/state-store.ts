// The daemon's memory: what the panel was told (snapshot), what is being told (outbox), and
// what happened (pass history, source status). better-sqlite3 in WAL mode; every state change
// that must survive a crash is one transaction. Write transactions start IMMEDIATE: a deferred
// one that reads first could not upgrade to a writer after another process (`resolve` beside the
// running daemon) committed, and would fail with "database is locked" instead of waiting.
//
// The outbox is on the hot path of an initial sync (one journal and one resolution per create), so
// its statements are positional, prepared once, and never use RETURNING (SQLite buffers those rows
// in a temporary table); the outbox holds open items only (a finished call's row is deleted), which
// keeps the pages each group commit writes few (see migration 2).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import DatabaseConstructor, { type Database, type Statement } from 'better-sqlite3';
import type { Action, ActionKind, OutboxItem, Ownership, PanelFields, SnapshotEntry, VmKey } from '../domain/types.js';
import { vmKey, parseVmKey } from '../domain/types.js';
import type { PassSummary } from '../engine/control.js';
import { DetailTable } from './detail-table.js';
import { migrate } from './migrations.js';
import { SnapshotCache, type VpsTuple } from './snapshot-cache.js';

export interface StoreOptions {
  readonly path: string;
  /** Read-only views (`plan`, `status`) never migrate or write. */
  readonly readonly?: boolean;
}

interface OutboxRow {
  id: number;
  source: string;
  external_id: string;
  kind: ActionKind;
  panel_id: number | null;
  fields_json: string | null;
  user_id: number | null;
  billing_id: string | null;
  state: OutboxItem['state'];
  failure: OutboxItem['failure'];
  attempts: number;
  next_attempt_at: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

type CreateAction = Extract<Action, { kind: 'create' }>;

/** An answer for resolveAndJournal. */
export interface ResolutionEntry {
  readonly outboxId: number;
  readonly resolution: Resolution;
  readonly now: number;
  /** The journaled action, if the caller has it (saves reading the row back). */
  readonly action?: Action;
}

/** A call for resolveAndJournal to journal. */
export interface JournalCall {
  readonly action: Action;
  readonly passId: number | null;
  readonly now: number;
}

/** The parts of a journaled call a resolution writes to the snapshot. */
interface JournaledCall {
  readonly source: string;
  readonly external_id: string;
  readonly kind: ActionKind;
  readonly panel_id: number | null;
  readonly billing_id: string | null;
  readonly fields: PanelFields | null;
}

export interface SourceStatusRow {
  readonly name: string;
  readonly kind: 'proxmox' | 'vmware';
  readonly up: boolean | null;
  readonly vms: number | null;
  readonly lastError: string | null;
  readonly lastListedAt: number | null;
}

/** How a journaled call ended, as the store records it. */
export type Resolution =
  | { readonly outcome: 'created'; readonly panelId: number }
  | { readonly outcome: 'updated' }
  | { readonly outcome: 'deleted' }
  /** The panel does not have the VPS (update answered 404): forget our entry so it is created again. */
  | { readonly outcome: 'vanished' }
  | { readonly outcome: 'failed'; readonly failure: 'retryable' | 'rejected'; readonly error: string; readonly nextAttemptAt: number | null }
  | { readonly outcome: 'ambiguous'; readonly error: string };

/** WAL frames (pages) after which a commit checkpoints; SQLite's default is 1000. */
const WAL_AUTOCHECKPOINT_PAGES = 4000;
/** The WAL file is truncated to this size when it is reset after a checkpoint. */
const WAL_SIZE_LIMIT_BYTES = 32 * 1024 * 1024;
/** Rows per multi-row statement in a group commit (a batch is ~4-8 calls at concurrency 8). */
const MULTI_ROW = 32;
/** Values per row of upsertVpsSql and journalCreatesSql. */
const VPS_COLUMNS = 13;
const JOURNAL_CREATE_COLUMNS = 9;

/** The SQLite state file. `open()` before use, `close()` at the end. */
export class StateStore {
  private db: Database | null = null;
  private statements: ReturnType<StateStore['prepare']> | null = null;
  private groupCommitTx: ReturnType<StateStore['groupCommitFn']> | null = null;
  /**
   * The id the next journaled call gets. Counted here rather than by SQLite: SQLite hands out
   * MAX(id)+1, and as finished rows are deleted that would give a new call the id of one resolved a
   * moment ago — or of one `resolve --forget` removed while its answer was still on the way, whose
   * resolution would then close the new call's row. Counted from the largest id at open, so an id
   * is never reused while this process may still hold it (AUTOINCREMENT would cost a page write
   * per transaction for the same guarantee). Only the daemon journals.
   */
  private nextOutboxId = 1;
  /**
   * Keys (`kind:source/external id`) of the failed and ambiguous outbox items, a superset: a
   * journal looks up an item to reuse only for these, every other call is a plain INSERT. In-flight
   * rows live for one round trip and are not indexed (see migration 2), so this set, not a UNIQUE
   * conflict, is what finds the item a retry reuses. Only this process turns calls into failed or
   * ambiguous items (`resolve` beside the daemon only changes such items or drops them, which
   * leaves a stale key here: harmless), so the set stays complete. null: read it from the file
   * when next needed (after a failed transaction, after recovery).
   */
  private settledCache: Set<string> | null = null;
  /** Multi-row statements by row count (see groupCommitFn). */
  private multiRowStatements = { upsertVps: new Map<number, Statement>(), journalCreates: new Map<number, Statement>() };
  /** The snapshot, kept in memory and updated with our own writes (see SnapshotCache). */
  private readonly snapshotCache = new SnapshotCache();
  private detailTable: DetailTable | null = null;

  constructor(private readonly options: StoreOptions) {}

  /** Opens (and for writers creates and migrates) the state file. */
  open(): void {
    try {
      this.openConnection();
    } catch (err) {
      // A failed migration or pragma must not leave the file open (and locked) behind the error.
      try {
        this.db?.close();
      } catch {
        // already closed
      }
      this.db = null;
      this.statements = null;
      this.detailTable = null;
      throw err;
    }
  }

  private openConnection(): void {
    if (this.options.readonly) {
      this.db = new DatabaseConstructor(this.options.path, { readonly: true, fileMustExist: true });
    } else {
      mkdirSync(dirname(this.options.path), { recursive: true });
      this.db = new DatabaseConstructor(this.options.path, { timeout: 5000 });
      this.db.pragma('journal_mode = WAL');
      // NORMAL in WAL mode: a power cut may lose the last transactions but never corrupts;
      // the outbox is written before each send, so a lost "done" at worst re-marks a create ambiguous.
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
      // Checkpoint every ~16 MB of WAL instead of every 4 MB: a checkpoint inside a commit blocks the
      // event loop for two fsyncs and rewrites pages an initial sync keeps touching; a quarter as many
      // saves ~0.3-1 µs of wall per create (CPU: within the noise). finishPass() checkpoints between
      // passes. The size limit only trims a WAL that grew further (a reader held back checkpoints).
      this.db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
      this.db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
      migrate(this.db);
    }
    this.statements = this.prepare(this.db);
    this.detailTable = DetailTable.open(this.db, this.options.readonly === true);
    if (!this.options.readonly) {
      this.groupCommitTx = this.groupCommitFn(this.db);
      this.nextOutboxId = (this.s.maxOutboxId.get() as { id: number }).id + 1;
    }
  }

  /** Closes the database (checkpointing the WAL for writers). */
  close(): void {
    if (!this.db) return;
    if (!this.options.readonly) {
      try {
        this.db.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        // another reader holds the WAL; the next open recovers it
      }
    }
    this.db.close();
    this.db = null;
    this.statements = null;
    this.detailTable = null;
    this.groupCommitTx = null;
    this.multiRowStatements = { upsertVps: new Map(), journalCreates: new Map() };
    this.settledCache = null;
    this.snapshotCache.drop();
  }

  private get s(): NonNullable<StateStore['statements']> {
    if (!this.statements) throw new Error('state store is not open');
    return this.statements;
  }

  /** The vSphere sources' cached VM details (a cache kept in the state file, see DetailTable). */
  get vsphereDetails(): DetailTable {
    if (!this.detailTable) throw new Error('state store is not open');
    return this.detailTable;
  }

  private get groupCommit(): NonNullable<StateStore['groupCommitTx']> {
    if (!this.groupCommitTx) throw new Error(this.db ? 'state store is open read-only' : 'state store is not open');
    return this.groupCommitTx;
  }

  private get conn(): Database {
    if (!this.db) throw new Error('state store is not open');
    return this.db;
  }

  private prepare(db: Database) {
    const ro = this.options.readonly === true;
    const w = <T extends unknown[] = unknown[]>(sql: string): Statement<T> => (ro ? (null as unknown as Statement<T>) : db.prepare<T>(sql));
    return {
      // Arrays, not objects: at 100,000 VPSes a row object per VPS is most of what snapshot() costs.
      allVps: db.prepare('SELECT source, external_id, panel_id, user_id, billing_id, name, cpu, ram, disk, os, status, hypervisor, missing_passes FROM vps').raw(true),
      vpsCount: db.prepare('SELECT COUNT(*) AS n FROM vps'),
      // The outbox holds open items only since schema version 2; `state <> 'done'` keeps the
      // read-only views (`status`, `plan`) right on a version-1 file a daemon has not migrated yet.
      openOutbox: db.prepare("SELECT * FROM outbox WHERE state <> 'done' ORDER BY id"),
      outboxCounts: db.prepare("SELECT state, failure, COUNT(*) AS n FROM outbox WHERE state <> 'done' GROUP BY state, failure"),
      ambiguousKeys: db.prepare("SELECT source, external_id FROM outbox WHERE state = 'ambiguous' ORDER BY id LIMIT ?"),
      recentPasses: db.prepare('SELECT * FROM passes ORDER BY id DESC LIMIT ?'),
      sourceStatus: db.prepare('SELECT * FROM source_status ORDER BY name'),
      getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
      // Every statement that writes `vps` is mirrored on snapshotCache, inside a transaction run by writeTransaction().
      setMissing: w('UPDATE vps SET missing_passes = ? WHERE source = ? AND external_id = ?'),
      // A new in_flight row; a call sent again after a failure reuses its item instead (journalRetry).
      journalInsert: w(`
        INSERT INTO outbox (id, source, external_id, kind, panel_id, fields_json, user_id, billing_id, state, attempts, pass_id, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'in_flight', 1, ?, ?, ?)`),
      maxOutboxId: w('SELECT COALESCE(MAX(id), 0) AS id FROM outbox'),
      // `state <> 'in_flight'` as in the index outbox_settled, so these use it.
      settledKeys: w("SELECT source, external_id, kind FROM outbox WHERE state <> 'in_flight'"),
      settledItemByKey: w("SELECT id, attempts FROM outbox WHERE source = ? AND external_id = ? AND kind = ? AND state <> 'in_flight'"),
      journalRetry: w(`
        UPDATE outbox SET panel_id = ?, fields_json = ?, user_id = ?, billing_id = ?, state = 'in_flight', failure = NULL,
          attempts = attempts + 1, pass_id = ?, updated_at = ?
        WHERE id = ?`),
      outboxById: db.prepare('SELECT * FROM outbox WHERE id = ?'),
      ambiguousCreateId: w("SELECT id FROM outbox WHERE source = ? AND external_id = ? AND kind = 'create' AND state <> 'in_flight' AND state = 'ambiguous'"),
      outboxDone: w('DELETE FROM outbox WHERE id = ?'),
      outboxFailed: w("UPDATE outbox SET state = 'failed', failure = ?, last_error = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?"),
      outboxAmbiguous: w("UPDATE outbox SET state = 'ambiguous', failure = NULL, last_error = ?, next_attempt_at = NULL, updated_at = ? WHERE id = ?"),
      upsertVps: w(upsertVpsSql(1)),
      updateVpsFields: w(`
        UPDATE vps SET user_id = ?, billing_id = ?, name = ?, cpu = ?, ram = ?, disk = ?, os = ?, status = ?, hypervisor = ?, updated_at = ?
        WHERE source = ? AND external_id = ? AND panel_id = ?`),
      deleteVps: w('DELETE FROM vps WHERE source = ? AND external_id = ? AND panel_id = ?'),
      deleteVpsByKey: w('DELETE FROM vps WHERE source = ? AND external_id = ?'),
      deleteOutboxOpen: w('DELETE FROM outbox WHERE source = ? AND external_id = ?'),
      recoverInFlightCreates: w("UPDATE OR REPLACE outbox SET state = 'ambiguous', last_error = ?, updated_at = ? WHERE state = 'in_flight' AND kind = 'create'"),
      recoverInFlightOthers: w("UPDATE OR REPLACE outbox SET state = 'failed', failure = 'retryable', last_error = ?, next_attempt_at = NULL, updated_at = ? WHERE state = 'in_flight'"),
      prunePasses: w('DELETE FROM passes WHERE id <= (SELECT MAX(id) FROM passes) - ?'),
      startPass: w('INSERT INTO passes (started_at, full) VALUES (?, ?) RETURNING id'),
      finishPass: w('UPDATE passes SET finished_at = ?, result = ?, summary_json = ? WHERE id = ?'),
      upsertSourceStatus: w(`
        INSERT INTO source_status (name, kind, up, vms, last_error, last_listed_at) VALUES (@name, @kind, @up, @vms, @last_error, @last_listed_at)
        ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, up = excluded.up, vms = COALESCE(excluded.vms, vms),
          last_error = excluded.last_error, last_listed_at = excluded.last_listed_at`),
      setMeta: w('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    };
  }

  /** Every VPS the panel was told about (a new array each call; the order is not significant). */
  snapshot(): SnapshotEntry[] {
    const dataVersion = this.conn.pragma('data_version', { simple: true }) as number;
    return this.snapshotCache.list(dataVersion, () => this.s.allVps.iterate() as IterableIterator<VpsTuple>);
  }

  /** Number of VPSes in the snapshot. */
  vpsCount(): number {
    return (this.s.vpsCount.get() as { n: number }).n;
  }

  /** Stores the consecutive-missing counters planned for this pass, in one transaction. */
  setMissingPasses(counts: ReadonlyMap<VmKey, number>): void {
    if (counts.size === 0) return;
    this.writeTransaction(() =>
      this.conn.transaction(() => {
        for (const [key, n] of counts) {
          const { source, externalId } = parseVmKey(key);
          this.s.setMissing.run(n, source, externalId);
          this.snapshotCache.missing(key, n);
        }
      }).immediate(),
    );
  }

  /** Journals a call before it is sent (state in_flight); returns the outbox id to resolve it with and the attempt number. */
  journal(action: Action, passId: number | null, now: number): { id: number; attempts: number } {
    return this.writeTransaction(() => this.conn.transaction(() => this.insertJournal(action, passId, now)).immediate());
  }

  /** Records the answer to a journaled call, and the snapshot change it implies, in one transaction. */
  resolve(outboxId: number, resolution: Resolution, now: number): void {
    this.writeTransaction(() => this.conn.transaction(() => this.applyResolution(outboxId, resolution, now)).immediate());
  }

  /**
   * Group commit: records answers, then journals the next calls, all in ONE transaction (one WAL
   * commit instead of one per call). Answers come first, so a VM's next call is journaled after its
   * previous one was resolved, as with separate transactions. An answer may carry the journaled
   * `action`, which saves reading its row back. Returns the journal entries in order.
   */
  resolveAndJournal(resolutions: readonly ResolutionEntry[], calls: readonly JournalCall[]): { id: number; attempts: number }[] {
    return this.writeTransaction(() => this.groupCommit.immediate(resolutions, calls));
  }

  /**
   * The transaction behind resolveAndJournal, made once (better-sqlite3 builds a wrapper per
   * transaction() call). Runs of created VPSes and of new creates are written with one multi-row
   * statement each (better-sqlite3 costs ~0.4 µs per statement run, whatever its row count);
   * everything else row by row, in the order given.
   */
  private groupCommitFn(db: Database) {
    return db.transaction((resolutions: readonly ResolutionEntry[], calls: readonly JournalCall[]): { id: number; attempts: number }[] => {
      for (let i = 0; i < resolutions.length; ) {
        let end = i;
        while (end < resolutions.length && end - i < MULTI_ROW && isCreatedWithAction(resolutions[end]!)) end++;
        if (end - i > 1) {
          this.recordCreated(resolutions, i, end);
          i = end;
        } else {
          const r = resolutions[i++]!;
          this.applyResolution(r.outboxId, r.resolution, r.now, r.action);
        }
      }
      const entries: { id: number; attempts: number }[] = new Array(calls.length);
      for (let i = 0; i < calls.length; ) {
        let end = i;
        while (end < calls.length && end - i < MULTI_ROW && this.isNewCreate(calls[end]!.action)) end++;
        if (end - i > 1) {
          this.journalNewCreates(calls, i, end, entries);
          i = end;
        } else {
          const c = calls[i]!;
          entries[i++] = this.insertJournal(c.action, c.passId, c.now);
        }
      }
      return entries;
    });
  }

  /**
   * Runs a write transaction. Committed, its snapshot changes are handed to the cache. If it
   * fails, SQLite rolled it back: its snapshot changes are dropped, and `settled`, which may have
   * followed changes that did not happen, is read again from the file when next needed.
   */
  private writeTransaction<T>(transaction: () => T): T {
    let result: T;
    try {
      result = transaction();
    } catch (err) {
      this.settledCache = null;
      this.snapshotCache.rollback();
      throw err;
    }
    this.snapshotCache.commit();
    return result;
  }

  /** Keys (`kind:source/external id`) that may have a failed or ambiguous item: read from the file on first use, then kept up to date. */
  private get settled(): Set<string> {
    if (!this.settledCache) {
      const keys = new Set<string>();
      for (const [source, externalId, kind] of this.s.settledKeys.raw(true).iterate() as IterableIterator<[string, string, ActionKind]>) keys.add(settledKey(kind, vmKey(source, externalId)));
      this.settledCache = keys;
    }
    return this.settledCache;
  }

  /** A create whose VM has no failed or ambiguous create to reuse: a plain new row. */
  private isNewCreate(action: Action): boolean {
    return action.kind === 'create' && !this.settled.has(settledKey('create', action.key));
  }

  /** Inside a write transaction: the in_flight row of `action`, new or (for a call sent again) its failed item reused. */
  private insertJournal(action: Action, passId: number | null, now: number): { id: number; attempts: number } {
    const { source, externalId } = parseVmKey(action.key);
    const kind = action.kind;
    const panelId = kind === 'create' ? null : action.panelId;
    const desired = kind === 'delete' ? null : action.desired;
    const fieldsJson = desired ? JSON.stringify(desired.fields) : null;
    const userId = desired ? desired.owner.userId : null;
    const billingId = desired ? desired.owner.billingId : null;
    const key = settledKey(kind, action.key);
    if (this.settled.has(key)) {
      // Sent again after a failure: the same item, next attempt (it keeps its id, backoff and history).
      const item = this.s.settledItemByKey.get(source, externalId, kind) as { id: number; attempts: number } | undefined;
      if (item) {
        this.s.journalRetry.run(panelId, fieldsJson, userId, billingId, passId, now, item.id);
        return { id: item.id, attempts: item.attempts + 1 };
      }
      this.settled.delete(key); // settled meanwhile by another process (`resolve`)
    }
    const id = this.nextOutboxId;
    try {
      this.s.journalInsert.run(id, source, externalId, kind, panelId, fieldsJson, userId, billingId, passId, now, now);
    } catch (err) {
      if (!this.recount(err)) throw err;
      return this.insertJournal(action, passId, now);
    }
    this.nextOutboxId = id + 1;
    return { id, attempts: 1 };
  }

  /** `calls[from..to)`, all creates without a failed item to reuse (isNewCreate): their in_flight rows in one statement. */
  private journalNewCreates(calls: readonly JournalCall[], from: number, to: number, entries: { id: number; attempts: number }[]): void {
    const n = to - from;
    const first = this.nextOutboxId;
    const values: unknown[] = new Array(n * JOURNAL_CREATE_COLUMNS);
    let v = 0;
    for (let i = from; i < to; i++) {
      const c = calls[i]!;
      const action = c.action as CreateAction;
      const { source, externalId } = parseVmKey(action.key);
      values[v++] = first + (i - from);
      values[v++] = source;
      values[v++] = externalId;
      values[v++] = JSON.stringify(action.desired.fields);
      values[v++] = action.desired.owner.userId;
      values[v++] = action.desired.owner.billingId;
      values[v++] = c.passId;
      values[v++] = c.now;
      values[v++] = c.now;
    }
    try {
      this.multiRow('journalCreates', n).run(values);
    } catch (err) {
      if (!this.recount(err)) throw err;
      this.journalNewCreates(calls, from, to, entries);
      return;
    }
    this.nextOutboxId = first + n;
    for (let i = from; i < to; i++) entries[i] = { id: first + (i - from), attempts: 1 };
  }

  /** An id we counted is taken: another writer journaled since (no code path does; tests might). Counts again; false for any other error. */
  private recount(err: unknown): boolean {
    if ((err as { code?: string }).code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') return false;
    this.nextOutboxId = (this.s.maxOutboxId.get() as { id: number }).id + 1;
    return true;
  }

  /** `resolutions[from..to)`, all `created` with their action: the snapshot rows in one statement, then each outbox row closed. */
  private recordCreated(resolutions: readonly ResolutionEntry[], from: number, to: number): void {
    const values: unknown[] = new Array((to - from) * VPS_COLUMNS);
    let v = 0;
    for (let i = from; i < to; i++) {
      const r = resolutions[i]!;
      const action = r.action as CreateAction;
      const { source, externalId } = parseVmKey(action.key);
      const f = action.desired.fields;
      const panelId = (r.resolution as Extract<Resolution, { outcome: 'created' }>).panelId;
      // Staged only: it reaches the cache if the transaction commits (writeTransaction).
      this.snapshotCache.put(source, externalId, panelId, action.desired.owner.billingId, f, action.desired.owner);
      values[v++] = source;
      values[v++] = externalId;
      values[v++] = panelId;
      values[v++] = f.user_id;
      values[v++] = action.desired.owner.billingId;
      values[v++] = f.name;
      values[v++] = f.cpu;
      values[v++] = f.ram;
      values[v++] = f.disk;
      values[v++] = f.os;
      values[v++] = f.status;
      values[v++] = f.hypervisor;
      values[v++] = r.now;
    }
    this.multiRow('upsertVps', to - from).run(values);
    const settled = this.settled;
    for (let i = from; i < to; i++) {
      const r = resolutions[i]!;
      this.s.outboxDone.run(r.outboxId);
      if (settled.size > 0) settled.delete(settledKey('create', r.action!.key));
    }
  }

  /** A multi-row statement for `rows` rows, prepared on first use. */
  private multiRow(which: 'upsertVps' | 'journalCreates', rows: number): Statement {
    const cache = this.multiRowStatements[which];
    let statement = cache.get(rows);
    if (!statement) {
      statement = this.conn.prepare(which === 'upsertVps' ? upsertVpsSql(rows) : journalCreatesSql(rows));
      cache.set(rows, statement);
    }
    return statement;
  }

  /** What a resolution needs of the journaled call: from the caller's action when given (the same values the journal row holds), else from the row. */
  private journaledCall(outboxId: number, action: Action | undefined): JournaledCall {
    if (action) {
      const { source, externalId } = parseVmKey(action.key);
      const desired = action.kind === 'delete' ? null : action.desired;
      return {
        source,
        external_id: externalId,
        kind: action.kind,
        panel_id: action.kind === 'create' ? null : action.panelId,
        billing_id: desired ? desired.owner.billingId : null,
        fields: desired ? desired.fields : null,
      };
    }
    const item = this.s.outboxById.get(outboxId) as OutboxRow | undefined;
    if (!item) throw new Error(`outbox item ${outboxId} not found`);
    return { ...item, fields: item.fields_json === null ? null : (JSON.parse(item.fields_json) as PanelFields) };
  }

  /** Inside a write transaction: records one answer (see Resolution). */
  private applyResolution(outboxId: number, resolution: Resolution, now: number, action?: Action): void {
    const item = this.journaledCall(outboxId, action);
    const { source, external_id: externalId } = item;
    const key = settledKey(item.kind, vmKey(source, externalId));
    switch (resolution.outcome) {
      case 'created': {
        const f = item.fields;
        if (!f) throw new Error(`outbox item ${outboxId}: a create without fields`);
        this.s.upsertVps.run(source, externalId, resolution.panelId, f.user_id, item.billing_id, f.name, f.cpu, f.ram, f.disk, f.os, f.status, f.hypervisor, now);
        this.snapshotCache.put(source, externalId, resolution.panelId, item.billing_id, f);
        this.s.outboxDone.run(outboxId);
        this.settled.delete(key);
        break;
      }
      case 'updated': {
        const f = item.fields;
        if (!f) throw new Error(`outbox item ${outboxId}: an update without fields`);
        this.s.updateVpsFields.run(f.user_id, item.billing_id, f.name, f.cpu, f.ram, f.disk, f.os, f.status, f.hypervisor, now, source, externalId, item.panel_id);
        this.snapshotCache.update(source, externalId, item.panel_id, item.billing_id, f);
        this.s.outboxDone.run(outboxId);
        this.settled.delete(key);
        break;
      }
      case 'deleted':
      case 'vanished':
        this.s.deleteVps.run(source, externalId, item.panel_id);
        this.snapshotCache.delete(source, externalId, item.panel_id);
        this.s.outboxDone.run(outboxId);
        this.settled.delete(key);
        break;
      case 'failed':
        this.s.outboxFailed.run(resolution.failure, resolution.error, resolution.nextAttemptAt, now, outboxId);
        this.settled.add(key);
        break;
      case 'ambiguous':
        this.s.outboxAmbiguous.run(resolution.error, now, outboxId);
        this.settled.add(key);
        break;
    }
  }

  /** Open outbox items (in flight, failed, ambiguous), oldest first. */
  openOutbox(): OutboxItem[] {
    return (this.s.openOutbox.all() as OutboxRow[]).map(toOutboxItem);
  }

  /** VM keys of the ambiguous creates, oldest first (for /status and `resolve`). */
  ambiguousKeys(limit: number): VmKey[] {
    return (this.s.ambiguousKeys.all(limit) as { source: string; external_id: string }[]).map((r) => vmKey(r.source, r.external_id));
  }

  /** Counts of open outbox items for /status and metrics. */
  outboxCounts(): { inFlight: number; failed: number; rejected: number; ambiguous: number } {
    const out = { inFlight: 0, failed: 0, rejected: 0, ambiguous: 0 };
    for (const r of this.s.outboxCounts.all() as { state: string; failure: string | null; n: number }[]) {
      if (r.state === 'in_flight') out.inFlight += r.n;
      else if (r.state === 'ambiguous') out.ambiguous += r.n;
      else if (r.failure === 'rejected') out.rejected += r.n;
      else out.failed += r.n;
    }
    return out;
  }

  /**
   * After a crash or kill (or a failed commit of answers, `why: 'unrecorded'`): an in-flight create may have reached the panel, so it becomes
   * ambiguous (never re-sent blindly); in-flight updates and deletes are idempotent and retried.
   * A VM has at most one failed or ambiguous item per kind; should an in-flight call meet one
   * (a call journaled again after its answer could not be recorded), the in-flight call replaces it.
   */
  recoverInFlight(now: number, why: 'stopped' | 'unrecorded' = 'stopped'): { ambiguous: number; retried: number } {
    const what = why === 'stopped' ? 'the daemon stopped while this call was in flight' : 'the answer to this call could not be recorded';
    try {
      return this.conn.transaction(() => {
        const ambiguous = this.s.recoverInFlightCreates.run(what.replace('this call', 'this create'), now).changes;
        const retried = this.s.recoverInFlightOthers.run(what, now).changes;
        return { ambiguous, retried };
      }).immediate();
    } finally {
      this.settledCache = null;
    }
  }

  /** Operator: the ambiguous create did reach the panel as VPS `panelId`; adopt it. */
  adoptAmbiguous(key: VmKey, panelId: number, now: number): boolean {
    return this.settleAmbiguousCreate(key, { outcome: 'created', panelId }, now);
  }

  /** Operator: the ambiguous create did not reach the panel; send it again next pass. */
  retryAmbiguous(key: VmKey, now: number): boolean {
    return this.settleAmbiguousCreate(key, { outcome: 'failed', failure: 'retryable', error: 'operator asked to recreate', nextAttemptAt: null }, now);
  }

  /** Operator: drop everything known locally about a VM (open outbox items and snapshot entry); the panel is not touched. */
  forget(key: VmKey): boolean {
    const { source, externalId } = parseVmKey(key);
    return this.writeTransaction(() =>
      this.conn.transaction(() => {
        const a = this.s.deleteOutboxOpen.run(source, externalId).changes;
        const b = this.s.deleteVpsByKey.run(source, externalId).changes;
        this.snapshotCache.delete(source, externalId, 'any');
        for (const kind of ['create', 'update', 'delete'] as const) this.settled.delete(settledKey(kind, key));
        return a + b > 0;
      }).immediate(),
    );
  }

  /** Finds and resolves the ambiguous create of `key` in one transaction, so no other writer changes it in between. */
  private settleAmbiguousCreate(key: VmKey, resolution: Resolution, now: number): boolean {
    const { source, externalId } = parseVmKey(key);
    return this.writeTransaction(() =>
      this.conn.transaction(() => {
        const row = this.s.ambiguousCreateId.get(source, externalId) as { id: number } | undefined;
        if (!row) return false;
        this.applyResolution(row.id, resolution, now);
        return true;
      }).immediate(),
    );
  }

  /** Starts a pass record; returns its id. */
  startPass(now: number, full: boolean): number {
    return (this.s.startPass.get(now, full ? 1 : 0) as { id: number }).id;
  }

  /** Finishes a pass record, prunes old history, remembers success times, then checkpoints the WAL. */
  finishPass(id: number, now: number, summary: PassSummary): void {
    this.conn.transaction(() => {
      this.s.finishPass.run(now, summary.result, JSON.stringify(summary), id);
      if (summary.result === 'success') this.s.setMeta.run('last_success_at', String(now));
      if (summary.full && summary.result === 'success') this.s.setMeta.run('last_full_resync_at', String(now));
      this.s.prunePasses.run(1000);
    }).immediate();
    this.checkpoint();
  }

  /**
   * Copies what the WAL holds into the database file, between passes rather than in the middle of
   * the next pass's commits. PASSIVE: it never waits for a reader (`status` beside the daemon) and
   * leaves whatever a reader still needs for a later checkpoint. Best effort: a checkpoint that
   * cannot run now loses nothing.
   */
  checkpoint(): void {
    try {
      this.conn.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // another connection is checkpointing (SQLITE_BUSY); the next one catches up
    }
  }

  /** The most recent passes, newest first. */
  recentPasses(limit: number): PassSummary[] {
    return (this.s.recentPasses.all(limit) as { summary_json: string | null; id: number; started_at: number; full: number }[]).map(
      (r) =>
        r.summary_json
          ? (JSON.parse(r.summary_json) as PassSummary)
          : ({
              id: r.id,
              startedAt: new Date(r.started_at).toISOString(),
              finishedAt: null,
              result: 'running',
              full: r.full === 1,
              durationSeconds: null,
              actions: { planned: 0, ok: 0, failed: 0, ambiguous: 0 },
              drift: {} as PassSummary['drift'],
              problems: [],
            } satisfies PassSummary),
    );
  }

  /** Records how a source's listing went. */
  recordSource(status: SourceStatusRow): void {
    this.s.upsertSourceStatus.run({
      name: status.name,
      kind: status.kind,
      up: status.up === null ? null : status.up ? 1 : 0,
      vms: status.vms,
      last_error: status.lastError,
      last_listed_at: status.lastListedAt,
    });
  }

  /** The last recorded status of every source. */
  sourceStatuses(): SourceStatusRow[] {
    return (this.s.sourceStatus.all() as { name: string; kind: 'proxmox' | 'vmware'; up: number | null; vms: number | null; last_error: string | null; last_listed_at: number | null }[]).map((r) => ({
      name: r.name,
      kind: r.kind,
      up: r.up === null ? null : r.up === 1,
      vms: r.vms,
      lastError: r.last_error,
      lastListedAt: r.last_listed_at,
    }));
  }

  /** A small daemon-level value (billing status, last success time). */
  meta(key: string): string | null {
    const row = this.s.getMeta.get(key) as { value: string | null } | undefined;
    return row?.value ?? null;
  }

  /** Sets a daemon-level value. */
  setMeta(key: string, value: string | null): void {
    this.s.setMeta.run(key, value);
  }
}

function toOutboxItem(r: OutboxRow): OutboxItem {
  const owner: Ownership | null = r.user_id === null ? null : { userId: r.user_id, billingId: r.billing_id };
  return {
    id: r.id,
    key: vmKey(r.source, r.external_id),
    kind: r.kind,
    panelId: r.panel_id,
    fields: r.fields_json ? (JSON.parse(r.fields_json) as PanelFields) : null,
    owner,
    state: r.state,
    failure: r.failure,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** A snapshot write for `rows` VPSes the panel now has (a create answered, or an adopted one). */
function upsertVpsSql(rows: number): string {
  return `
    INSERT INTO vps (source, external_id, panel_id, user_id, billing_id, name, cpu, ram, disk, os, status, hypervisor, missing_passes, updated_at)
    VALUES ${Array.from({ length: rows }, () => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)').join(', ')}
    ON CONFLICT (source, external_id) DO UPDATE SET
      panel_id = excluded.panel_id, user_id = excluded.user_id, billing_id = excluded.billing_id, name = excluded.name,
      cpu = excluded.cpu, ram = excluded.ram, disk = excluded.disk, os = excluded.os, status = excluded.status,
      hypervisor = excluded.hypervisor, missing_passes = 0, updated_at = excluded.updated_at`;
}

/** New in_flight rows for `rows` creates, with the ids the store counted; a VM with an open create is skipped (DO NOTHING). */
function journalCreatesSql(rows: number): string {
  return `
    INSERT INTO outbox (id, source, external_id, kind, fields_json, user_id, billing_id, state, attempts, pass_id, created_at, updated_at)
    VALUES ${Array.from({ length: rows }, () => "(?, ?, ?, 'create', ?, ?, ?, 'in_flight', 1, ?, ?, ?)").join(', ')}`;
}

function isCreatedWithAction(r: ResolutionEntry): boolean {
  return r.resolution.outcome === 'created' && r.action?.kind === 'create';
}

/** The settled-set key of a VM's item of one kind. */
function settledKey(kind: ActionKind, key: VmKey): string {
  return `${kind}:${key}`;
}
