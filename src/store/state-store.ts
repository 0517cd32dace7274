// The daemon's memory: what the panel was told (snapshot), what is being told (outbox), and
// what happened (pass history, source status). better-sqlite3 in WAL mode; every state change
// that must survive a crash is one transaction. Write transactions start IMMEDIATE: a deferred
// one that reads first could not upgrade to a writer after another process (`resolve` beside the
// running daemon) committed, and would fail with "database is locked" instead of waiting.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import DatabaseConstructor, { type Database, type Statement } from 'better-sqlite3';
import type { Action, ActionKind, OutboxItem, Ownership, PanelFields, SnapshotEntry, VmKey } from '../domain/types.js';
import { vmKey, parseVmKey } from '../domain/types.js';
import type { PassSummary } from '../engine/control.js';
import { migrate } from './migrations.js';

export interface StoreOptions {
  readonly path: string;
  /** Read-only views (`plan`, `status`) never migrate or write. */
  readonly readonly?: boolean;
}

/** A `vps` row as `allVps` returns it (raw mode), in its column order. */
type VpsTuple = [
  source: string,
  externalId: string,
  panelId: number,
  userId: number,
  billingId: string | null,
  name: string,
  cpu: number,
  ram: number,
  disk: number,
  os: string,
  status: PanelFields['status'],
  hypervisor: PanelFields['hypervisor'],
  missingPasses: number,
];

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

/** The parts of a journaled call a resolution writes to the snapshot. */
interface JournaledCall {
  readonly source: string;
  readonly external_id: string;
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

/** The SQLite state file. `open()` before use, `close()` at the end. */
export class StateStore {
  private db: Database | null = null;
  private statements: ReturnType<StateStore['prepare']> | null = null;
  /**
   * The snapshot as last read, reused while nothing changed it: reading 100,000 rows costs a
   * steady pass more than planning does. Dropped on every write of ours to `vps`; a write by
   * another process (`resolve` while the daemon runs) shows up as a new `PRAGMA data_version`.
   */
  private snapshotCache: { readonly dataVersion: number; readonly entries: readonly SnapshotEntry[] } | null = null;

  constructor(private readonly options: StoreOptions) {}

  /** Opens (and for writers creates and migrates) the state file. */
  open(): void {
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
      migrate(this.db);
    }
    this.statements = this.prepare(this.db);
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
    this.snapshotCache = null;
  }

  private get s(): NonNullable<StateStore['statements']> {
    if (!this.statements) throw new Error('state store is not open');
    return this.statements;
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
      openOutbox: db.prepare("SELECT * FROM outbox WHERE state <> 'done' ORDER BY id"),
      outboxCounts: db.prepare("SELECT state, failure, COUNT(*) AS n FROM outbox WHERE state <> 'done' GROUP BY state, failure"),
      ambiguousKeys: db.prepare("SELECT source, external_id FROM outbox WHERE state = 'ambiguous' ORDER BY id LIMIT ?"),
      recentPasses: db.prepare('SELECT * FROM passes ORDER BY id DESC LIMIT ?'),
      sourceStatus: db.prepare('SELECT * FROM source_status ORDER BY name'),
      getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
      // Every method running a statement that writes `vps` must drop snapshotCache.
      setMissing: w('UPDATE vps SET missing_passes = ? WHERE source = ? AND external_id = ?'),
      journal: w(`
        INSERT INTO outbox (source, external_id, kind, panel_id, fields_json, user_id, billing_id, state, failure, attempts, pass_id, created_at, updated_at)
        VALUES (@source, @external_id, @kind, @panel_id, @fields_json, @user_id, @billing_id, 'in_flight', NULL, 1, @pass_id, @now, @now)
        ON CONFLICT (source, external_id, kind) WHERE state <> 'done' DO UPDATE SET
          panel_id = excluded.panel_id, fields_json = excluded.fields_json, user_id = excluded.user_id,
          billing_id = excluded.billing_id, state = 'in_flight', failure = NULL, attempts = attempts + 1,
          pass_id = excluded.pass_id, updated_at = excluded.updated_at
        RETURNING id, attempts`),
      outboxById: db.prepare('SELECT * FROM outbox WHERE id = ?'),
      outboxDone: w("UPDATE outbox SET state = 'done', failure = NULL, last_error = NULL, next_attempt_at = NULL, updated_at = ? WHERE id = ?"),
      outboxFailed: w("UPDATE outbox SET state = 'failed', failure = ?, last_error = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?"),
      outboxAmbiguous: w("UPDATE outbox SET state = 'ambiguous', failure = NULL, last_error = ?, next_attempt_at = NULL, updated_at = ? WHERE id = ?"),
      upsertVps: w(`
        INSERT INTO vps (source, external_id, panel_id, user_id, billing_id, name, cpu, ram, disk, os, status, hypervisor, missing_passes, updated_at)
        VALUES (@source, @external_id, @panel_id, @user_id, @billing_id, @name, @cpu, @ram, @disk, @os, @status, @hypervisor, 0, @now)
        ON CONFLICT (source, external_id) DO UPDATE SET
          panel_id = excluded.panel_id, user_id = excluded.user_id, billing_id = excluded.billing_id, name = excluded.name,
          cpu = excluded.cpu, ram = excluded.ram, disk = excluded.disk, os = excluded.os, status = excluded.status,
          hypervisor = excluded.hypervisor, missing_passes = 0, updated_at = excluded.updated_at`),
      updateVpsFields: w(`
        UPDATE vps SET user_id = @user_id, billing_id = @billing_id, name = @name, cpu = @cpu, ram = @ram, disk = @disk,
          os = @os, status = @status, hypervisor = @hypervisor, updated_at = @now
        WHERE source = @source AND external_id = @external_id AND panel_id = @panel_id`),
      deleteVps: w('DELETE FROM vps WHERE source = ? AND external_id = ? AND panel_id = ?'),
      deleteVpsByKey: w('DELETE FROM vps WHERE source = ? AND external_id = ?'),
      deleteOutboxOpen: w("DELETE FROM outbox WHERE source = ? AND external_id = ? AND state <> 'done'"),
      recoverInFlightCreates: w("UPDATE outbox SET state = 'ambiguous', last_error = 'the daemon stopped while this create was in flight', updated_at = ? WHERE state = 'in_flight' AND kind = 'create'"),
      recoverInFlightOthers: w("UPDATE outbox SET state = 'failed', failure = 'retryable', last_error = 'the daemon stopped while this call was in flight', next_attempt_at = NULL, updated_at = ? WHERE state = 'in_flight'"),
      pruneOutbox: w("DELETE FROM outbox WHERE state = 'done' AND updated_at < ?"),
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

  /** Every VPS the panel was told about. */
  snapshot(): SnapshotEntry[] {
    const dataVersion = this.conn.pragma('data_version', { simple: true }) as number;
    if (this.snapshotCache?.dataVersion !== dataVersion) {
      const entries: SnapshotEntry[] = [];
      // The cache lives as long as the daemon: one copy of each repeated value (source, os, status,
      // hypervisor) instead of one string per row saves ~12 MB at 100,000 VPSes.
      const shared = new Map<string, string>();
      const intern = <T extends string>(text: T): T => {
        const known = shared.get(text);
        if (known !== undefined) return known as T;
        shared.set(text, text);
        return text;
      };
      for (const row of this.s.allVps.iterate() as IterableIterator<VpsTuple>) entries.push(toSnapshotEntry(row, intern));
      this.snapshotCache = { dataVersion, entries };
    }
    // A copy of the list (the entries themselves are immutable), so no caller can change the cache.
    return this.snapshotCache.entries.slice();
  }

  /** Number of VPSes in the snapshot. */
  vpsCount(): number {
    return (this.s.vpsCount.get() as { n: number }).n;
  }

  /** Stores the consecutive-missing counters planned for this pass, in one transaction. */
  setMissingPasses(counts: ReadonlyMap<VmKey, number>): void {
    if (counts.size === 0) return;
    this.snapshotCache = null;
    this.conn.transaction(() => {
      for (const [key, n] of counts) {
        const { source, externalId } = parseVmKey(key);
        this.s.setMissing.run(n, source, externalId);
      }
    }).immediate();
  }

  /** Journals a call before it is sent (state in_flight); returns the outbox id to resolve it with and the attempt number. */
  journal(action: Action, passId: number | null, now: number): { id: number; attempts: number } {
    return this.insertJournal(action, passId, now);
  }

  /** Records the answer to a journaled call, and the snapshot change it implies, in one transaction. */
  resolve(outboxId: number, resolution: Resolution, now: number): void {
    this.conn.transaction(() => this.applyResolution(outboxId, resolution, now)).immediate();
  }

  /**
   * Group commit: records answers, then journals the next calls, all in ONE transaction (one WAL
   * commit instead of one per call). Answers come first, so a VM's next call is journaled after its
   * previous one was resolved, as with separate transactions. An answer may carry the journaled
   * `action`, which saves reading its row back. Returns the journal entries in order.
   */
  resolveAndJournal(
    resolutions: readonly { readonly outboxId: number; readonly resolution: Resolution; readonly now: number; readonly action?: Action }[],
    calls: readonly { readonly action: Action; readonly passId: number | null; readonly now: number }[],
  ): { id: number; attempts: number }[] {
    return this.conn.transaction(() => {
      for (const r of resolutions) this.applyResolution(r.outboxId, r.resolution, r.now, r.action);
      return calls.map((c) => this.insertJournal(c.action, c.passId, c.now));
    }).immediate();
  }

  private insertJournal(action: Action, passId: number | null, now: number): { id: number; attempts: number } {
    const { source, externalId } = parseVmKey(action.key);
    const desired = action.kind === 'delete' ? null : action.desired;
    const row = this.s.journal.get({
      source,
      external_id: externalId,
      kind: action.kind,
      panel_id: action.kind === 'create' ? null : action.panelId,
      fields_json: desired ? JSON.stringify(desired.fields) : null,
      user_id: desired ? desired.owner.userId : null,
      billing_id: desired ? desired.owner.billingId : null,
      pass_id: passId,
      now,
    }) as { id: number; attempts: number };
    return row;
  }

  /** What a resolution needs of the journaled call: from the caller's action when given (the same values the journal row holds), else from the row. */
  private journaledCall(outboxId: number, action: Action | undefined): JournaledCall {
    if (action) {
      const { source, externalId } = parseVmKey(action.key);
      const desired = action.kind === 'delete' ? null : action.desired;
      return {
        source,
        external_id: externalId,
        panel_id: action.kind === 'create' ? null : action.panelId,
        billing_id: desired ? desired.owner.billingId : null,
        fields: desired ? desired.fields : null,
      };
    }
    const item = this.s.outboxById.get(outboxId) as OutboxRow | undefined;
    if (!item) throw new Error(`outbox item ${outboxId} not found`);
    return { ...item, fields: item.fields_json === null ? null : (JSON.parse(item.fields_json) as PanelFields) };
  }

  private applyResolution(outboxId: number, resolution: Resolution, now: number, action?: Action): void {
    if (resolution.outcome !== 'failed' && resolution.outcome !== 'ambiguous') this.snapshotCache = null;
    switch (resolution.outcome) {
      case 'created': {
        const item = this.journaledCall(outboxId, action);
        this.s.upsertVps.run({
          source: item.source, external_id: item.external_id, panel_id: resolution.panelId,
          billing_id: item.billing_id, ...item.fields, now,
        });
        this.s.outboxDone.run(now, outboxId);
        break;
      }
      case 'updated': {
        const item = this.journaledCall(outboxId, action);
        this.s.updateVpsFields.run({
          source: item.source, external_id: item.external_id, panel_id: item.panel_id,
          billing_id: item.billing_id, ...item.fields, now,
        });
        this.s.outboxDone.run(now, outboxId);
        break;
      }
      case 'deleted':
      case 'vanished': {
        const item = this.journaledCall(outboxId, action);
        this.s.deleteVps.run(item.source, item.external_id, item.panel_id);
        this.s.outboxDone.run(now, outboxId);
        break;
      }
      case 'failed':
        this.requireItem(outboxId, action);
        this.s.outboxFailed.run(resolution.failure, resolution.error, resolution.nextAttemptAt, now, outboxId);
        break;
      case 'ambiguous':
        this.requireItem(outboxId, action);
        this.s.outboxAmbiguous.run(resolution.error, now, outboxId);
        break;
    }
  }

  /** A failure is recorded on the row itself; without the caller's action, check the row exists as before. */
  private requireItem(outboxId: number, action: Action | undefined): void {
    if (!action) this.journaledCall(outboxId, undefined);
  }

  /** Outbox items not yet done. */
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
   * After a crash or kill: an in-flight create may have reached the panel, so it becomes
   * ambiguous (never re-sent blindly); in-flight updates and deletes are idempotent and retried.
   */
  recoverInFlight(now: number): { ambiguous: number; retried: number } {
    return this.conn.transaction(() => {
      const ambiguous = this.s.recoverInFlightCreates.run(now).changes;
      const retried = this.s.recoverInFlightOthers.run(now).changes;
      return { ambiguous, retried };
    }).immediate();
  }

  /** Operator: the ambiguous create did reach the panel as VPS `panelId`; adopt it. */
  adoptAmbiguous(key: VmKey, panelId: number, now: number): boolean {
    const item = this.ambiguousCreate(key);
    if (!item) return false;
    this.resolve(item.id, { outcome: 'created', panelId }, now);
    return true;
  }

  /** Operator: the ambiguous create did not reach the panel; send it again next pass. */
  retryAmbiguous(key: VmKey, now: number): boolean {
    const item = this.ambiguousCreate(key);
    if (!item) return false;
    this.resolve(item.id, { outcome: 'failed', failure: 'retryable', error: 'operator asked to recreate', nextAttemptAt: null }, now);
    return true;
  }

  /** Operator: drop everything known locally about a VM (open outbox items and snapshot entry); the panel is not touched. */
  forget(key: VmKey): boolean {
    const { source, externalId } = parseVmKey(key);
    this.snapshotCache = null;
    return this.conn.transaction(() => {
      const a = this.s.deleteOutboxOpen.run(source, externalId).changes;
      const b = this.s.deleteVpsByKey.run(source, externalId).changes;
      return a + b > 0;
    }).immediate();
  }

  private ambiguousCreate(key: VmKey): OutboxItem | undefined {
    return this.openOutbox().find((i) => i.key === key && i.state === 'ambiguous' && i.kind === 'create');
  }

  /** Starts a pass record; returns its id. */
  startPass(now: number, full: boolean): number {
    return (this.s.startPass.get(now, full ? 1 : 0) as { id: number }).id;
  }

  /** Finishes a pass record, prunes old history, and remembers success times. */
  finishPass(id: number, now: number, summary: PassSummary): void {
    this.conn.transaction(() => {
      this.s.finishPass.run(now, summary.result, JSON.stringify(summary), id);
      if (summary.result === 'success') this.s.setMeta.run('last_success_at', String(now));
      if (summary.full && summary.result === 'success') this.s.setMeta.run('last_full_resync_at', String(now));
      this.s.prunePasses.run(1000);
      this.s.pruneOutbox.run(now - 7 * 86_400_000);
    }).immediate();
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

function toSnapshotEntry(r: VpsTuple, intern: <T extends string>(text: T) => T): SnapshotEntry {
  const [rawSource, externalId, panelId, userId, billingId, name, cpu, ram, disk, rawOs, rawStatus, rawHypervisor, missingPasses] = r;
  const source = intern(rawSource);
  const os = intern(rawOs);
  const status = intern(rawStatus);
  const hypervisor = intern(rawHypervisor);
  return {
    key: vmKey(source, externalId),
    source,
    externalId,
    panelId,
    owner: { userId, billingId },
    sent: { user_id: userId, name, cpu, ram, disk, os, status, hypervisor },
    missingPasses,
  };
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
