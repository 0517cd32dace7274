// The daemon's memory: what the panel was told (snapshot), what is being told (outbox), and
// what happened (pass history, source status). better-sqlite3 in WAL mode; every state change
// that must survive a crash is one transaction. Write transactions start IMMEDIATE: a deferred
// one that reads first could not upgrade to a writer after another process (`resolve` beside the
// running daemon) committed, and would fail with "database is locked" instead of waiting.
//
// The outbox's write path, on the hot path of an initial sync, is OutboxJournal's.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import DatabaseConstructor, { type Database, type Statement } from 'better-sqlite3';
import type { Action, OutboxItem, SnapshotEntry, SourceEndpoint, VmKey } from '../domain/types.js';
import { vmKey, parseVmKey } from '../domain/types.js';
import type { PassSummary } from '../engine/control.js';
import { DetailTable } from './detail-table.js';
import { migrate } from './migrations.js';
import { OutboxJournal, type JournalCall, type JournalEntry, type JournalOutcome, type ReassignedPanelId, type Resolution, type ResolutionEntry } from './outbox-journal.js';
import { toOutboxItem, type OutboxRow } from './outbox-row.js';
import { SnapshotCache, type VpsTuple } from './snapshot-cache.js';

/** `resolve --panel-id N` named an id the snapshot holds for another VM (see adoptAmbiguous). */
export class PanelIdTakenError extends Error {
  constructor(
    readonly panelId: number,
    readonly heldBy: VmKey,
  ) {
    super(`panel VPS #${panelId} is the one the state file has for ${heldBy}`);
    this.name = 'PanelIdTakenError';
  }
}

export interface StoreOptions {
  readonly path: string;
  /** Read-only views (`plan`, `status`) never migrate or write. */
  readonly readonly?: boolean;
}

export interface SourceStatusRow {
  readonly name: string;
  readonly kind: 'proxmox' | 'vmware';
  readonly up: boolean | null;
  readonly vms: number | null;
  readonly lastError: string | null;
  readonly lastListedAt: number | null;
  /** Guests the last listing named without a state, per node (null: none, or not listed). */
  readonly unreported: UnreportedSummary | null;
  /** The endpoint that answered the last listing (null: it failed, or the source does not say). */
  readonly endpoint: SourceEndpoint | null;
}

/** How many guests a source listed without a state, and on which nodes. */
export interface UnreportedSummary {
  readonly vms: number;
  readonly nodes: Readonly<Record<string, number>>;
}

// Kept in `meta` rather than a new `source_status` column: a schema version would make the state
// file unreadable to the previous build, a high price for a status line.
const unreportedKey = (source: string): string => `source_unreported:${source}`;
// The same for the endpoint in use, for the same reason.
const endpointKey = (source: string): string => `source_endpoint:${source}`;

/** WAL frames (pages) after which a commit checkpoints; SQLite's default is 1000. */
const WAL_AUTOCHECKPOINT_PAGES = 4000;
/** The WAL file is truncated to this size when it is reset after a checkpoint. */
const WAL_SIZE_LIMIT_BYTES = 32 * 1024 * 1024;

/** The SQLite state file. `open()` before use, `close()` at the end. */
export class StateStore {
  private db: Database | null = null;
  private statements: ReturnType<StateStore['prepare']> | null = null;
  /** The outbox's write path (writers only). */
  private outboxJournal: OutboxJournal | null = null;
  /** `PRAGMA data_version` when snapshot() last looked: it changes when another connection commits. */
  private lastDataVersion = -1;
  /** The snapshot, kept in memory and updated with our own writes (see SnapshotCache). */
  private readonly snapshotCache = new SnapshotCache();
  private detailTable: DetailTable | null = null;
  /** Whether the connection's commits are synced to disk (see durableFor()). */
  private syncedCommits = false;

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
      this.outboxJournal = null;
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
      // NORMAL in WAL mode: a power cut may lose the last transactions but never corrupts. Enough
      // for everything but the journal of a create, which durableFor() syncs (FULL).
      this.db.pragma('synchronous = NORMAL');
      this.syncedCommits = false;
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
    if (!this.options.readonly) this.outboxJournal = OutboxJournal.open(this.db, this.snapshotCache);
  }

  /** Closes the database (checkpointing the WAL for writers). */
  close(): void {
    if (!this.db) return;
    if (!this.options.readonly) {
      try {
        // Without waiting: a TRUNCATE checkpoint that waits for readers holds off every new writer
        // meanwhile, so `resolve` closing beside a slow `status` could stall the daemon's commits
        // past their busy timeout (a failed group commit). Busy now, it is left to the next writer.
        this.db.pragma('busy_timeout = 0');
        this.db.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        // another reader holds the WAL; the next open recovers it
      }
    }
    this.db.close();
    this.db = null;
    this.statements = null;
    this.detailTable = null;
    this.outboxJournal = null;
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

  private get outbox(): OutboxJournal {
    if (!this.outboxJournal) throw new Error(this.db ? 'state store is open read-only' : 'state store is not open');
    return this.outboxJournal;
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
      sharedPanelIds: db.prepare(
        "SELECT panel_id, group_concat(source || '/' || external_id, ' ') FROM vps GROUP BY panel_id HAVING COUNT(*) > 1 ORDER BY panel_id LIMIT ?",
      ).raw(true),
      // The outbox holds open items only since schema version 2; `state <> 'done'` keeps the
      // read-only views (`status`, `plan`) right on a version-1 file a daemon has not migrated yet.
      openOutbox: db.prepare("SELECT * FROM outbox WHERE state <> 'done' ORDER BY id"),
      outboxCounts: db.prepare("SELECT state, failure, COUNT(*) AS n FROM outbox WHERE state <> 'done' GROUP BY state, failure"),
      ambiguousKeys: db.prepare("SELECT source, external_id FROM outbox WHERE state = 'ambiguous' ORDER BY id LIMIT ?"),
      recentPasses: db.prepare('SELECT * FROM passes ORDER BY id DESC LIMIT ?'),
      sourceStatus: db.prepare('SELECT * FROM source_status ORDER BY name'),
      getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
      // Every statement that writes `vps` (here and in OutboxJournal) is mirrored on snapshotCache, inside a transaction run by writeTransaction().
      setMissing: w('UPDATE vps SET missing_passes = ? WHERE source = ? AND external_id = ?'),
      // `state <> 'in_flight'` as in the index outbox_settled, so it uses it.
      ambiguousCreateId: w("SELECT id FROM outbox WHERE source = ? AND external_id = ? AND kind = 'create' AND state <> 'in_flight' AND state = 'ambiguous'"),
      deleteVpsByKey: w('DELETE FROM vps WHERE source = ? AND external_id = ?'),
      vpsSources: db.prepare('SELECT source, COUNT(*), MIN(hypervisor) FROM vps GROUP BY source').raw(true),
      outboxSources: db.prepare('SELECT DISTINCT source FROM outbox').pluck(),
      renameVpsSource: w('UPDATE vps SET source = ? WHERE source = ?'),
      renameOutboxSource: w('UPDATE outbox SET source = ? WHERE source = ?'),
      deleteVpsOfSource: w('DELETE FROM vps WHERE source = ?'),
      deleteOutboxOfSource: w('DELETE FROM outbox WHERE source = ?'),
      deleteSourceStatus: w('DELETE FROM source_status WHERE name = ?'),
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
    // Another process wrote the file (`resolve`): what the journal keeps in memory is read again too.
    if (dataVersion !== this.lastDataVersion) {
      this.lastDataVersion = dataVersion;
      this.outboxJournal?.invalidate();
    }
    return this.snapshotCache.list(dataVersion, () => this.s.allVps.iterate() as IterableIterator<VpsTuple>);
  }

  /** Number of VPSes in the snapshot. */
  vpsCount(): number {
    return (this.s.vpsCount.get() as { n: number }).n;
  }

  /**
   * Panel ids that more than one VM holds (at most `limit`): a panel that handed an id out again
   * before the daemon released the old holder on such an answer (older builds did not), or a
   * hand-edited state file. The next update of either VM rewrites the other customer's VPS, and
   * which VM the panel's VPS really is can only be checked on the panel: reported, not repaired.
   * A full scan (no index on panel_id): for `status` and start-up, not for every pass.
   */
  sharedPanelIds(limit = 100): Array<{ panelId: number; keys: string[] }> {
    return (this.s.sharedPanelIds.all(limit) as Array<[number, string]>).map(([panelId, keys]) => ({ panelId, keys: keys.split(' ').sort() }));
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
  journal(action: Action, passId: number | null, now: number): JournalEntry {
    this.durableFor([{ action }]);
    return this.writeTransaction(() => this.conn.transaction(() => this.outbox.journal(action, passId, now)).immediate());
  }

  /** Records the answer to a journaled call, and the snapshot change it implies, in one transaction. */
  resolve(outboxId: number, resolution: Resolution, now: number): void {
    this.writeTransaction(() => this.conn.transaction(() => this.outbox.resolve(outboxId, resolution, now)).immediate());
  }

  /**
   * Group commit: records answers, then journals the next calls, all in ONE transaction (see
   * OutboxJournal). An answer may carry the journaled `action`, which saves reading its row back.
   * Returns, in order, each call's journal entry, or why it must not be sent (SupersededCall).
   */
  resolveAndJournal(resolutions: readonly ResolutionEntry[], calls: readonly JournalCall[]): JournalOutcome[] {
    this.durableFor(calls);
    return this.writeTransaction(() => this.outbox.groupCommit.immediate(resolutions, calls));
  }

  /**
   * Makes the next commit reach the disk before it returns (SQLite's synchronous = FULL: the WAL is
   * fsynced) when it journals a create; else NORMAL (the WAL reaches the OS, a crash of the process
   * loses nothing, a power cut the last commits). A create is the one call that cannot be sent
   * twice: were its journal lost to a power cut after it was sent, the next pass would create the
   * VPS again — a duplicate for the customer. Updates and deletes are idempotent, and an answer
   * lost that way leaves its create in flight, which recovery makes ambiguous, never re-sends; the
   * next create's sync also carries the answers committed before it. The price is one fsync per
   * group commit of an initial sync (bench/README.md); a steady pass journals no create.
   */
  private durableFor(calls: ReadonlyArray<{ readonly action: Action }>): void {
    let create = false;
    for (const c of calls) if (c.action.kind === 'create') create = true;
    if (create === this.syncedCommits) return;
    this.conn.pragma(`synchronous = ${create ? 'FULL' : 'NORMAL'}`);
    this.syncedCommits = create;
  }

  /**
   * Runs a write transaction. Committed, its snapshot changes are handed to the cache. If it
   * fails, SQLite rolled it back: its snapshot changes are dropped, and the outbox journal's
   * settled keys, which may have followed changes that did not happen, are read again when next needed.
   */
  private writeTransaction<T>(transaction: () => T): T {
    let result: T;
    try {
      result = transaction();
    } catch (err) {
      this.outboxJournal?.invalidate();
      this.snapshotCache.rollback();
      throw err;
    }
    this.snapshotCache.commit();
    this.outboxJournal?.commit();
    return result;
  }

  /** Panel ids the panel handed out again, recorded since the last call (see ReassignedPanelId). */
  takeReassignedPanelIds(): ReassignedPanelId[] {
    return this.outboxJournal?.takeReassigned() ?? [];
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
      this.outboxJournal?.invalidate();
    }
  }

  /**
   * Operator: the ambiguous create did reach the panel as VPS `panelId`; adopt it. Throws
   * PanelIdTakenError when the snapshot holds that id for another VM: an id the panel answers with
   * may be one handed out again, but one typed by a person is more likely a typo, and adopting it
   * would give one customer's VPS to another.
   */
  adoptAmbiguous(key: VmKey, panelId: number, now: number): boolean {
    const held = this.outbox.vpsHolding(panelId);
    if (held && vmKey(held.source, held.externalId) !== key) throw new PanelIdTakenError(panelId, vmKey(held.source, held.externalId));
    return this.settleAmbiguousCreate(key, { outcome: 'created', panelId }, now);
  }

  /** Operator: the ambiguous create did not reach the panel; send it again next pass. */
  retryAmbiguous(key: VmKey, now: number): boolean {
    return this.settleAmbiguousCreate(key, { outcome: 'failed', failure: 'retryable', error: 'operator asked to recreate', nextAttemptAt: null }, now);
  }

  /**
   * The sources the state file holds VPSes or open calls of, with how many VPSes and their
   * hypervisor: a source missing from the config but present here was renamed or removed.
   */
  sourcesInState(): Array<{ source: string; vps: number; hypervisor: string | null }> {
    const bySource = new Map<string, { source: string; vps: number; hypervisor: string | null }>();
    for (const [source, vps, hypervisor] of this.s.vpsSources.all() as Array<[string, number, string]>) bySource.set(source, { source, vps, hypervisor });
    for (const source of this.s.outboxSources.all() as string[]) if (!bySource.has(source)) bySource.set(source, { source, vps: 0, hypervisor: null });
    return [...bySource.values()].sort((a, b) => (a.source < b.source ? -1 : 1));
  }

  /**
   * Operator: source `from` is now called `to` in the config. Its VPSes, open calls and cached
   * vSphere details move over in one transaction, so no VM is taken for new; its last listing
   * status is dropped (the next pass records `to`'s). Refused when `to` already has VPSes or open
   * calls (it would merge two sources' VPSes). Returns the VPSes moved.
   */
  renameSource(from: string, to: string): number {
    return this.replaceSource(from, to);
  }

  /** Operator: source `name` was removed for good: forget its VPSes, open calls, status and details (the panel is not touched). Returns the VPSes forgotten. */
  forgetSource(name: string): number {
    return this.replaceSource(name, null);
  }

  private replaceSource(from: string, to: string | null): number {
    const s = this.s;
    const moved = this.writeTransaction(() =>
      this.conn.transaction(() => {
        if (to !== null) {
          const taken = this.sourcesInState().find((x) => x.source === to);
          if (taken) throw new Error(`source "${to}" already has ${taken.vps} VPS(es) in the state file; a rename must not merge two sources`);
        }
        const vps = to === null ? s.deleteVpsOfSource.run(from).changes : s.renameVpsSource.run(to, from).changes;
        if (to === null) s.deleteOutboxOfSource.run(from);
        else s.renameOutboxSource.run(to, from);
        s.deleteSourceStatus.run(from);
        s.setMeta.run(unreportedKey(from), null);
        s.setMeta.run(endpointKey(from), null);
        this.vsphereDetails.moveSource(from, to);
        return vps;
      }).immediate(),
    );
    // Every key of the source changed: what is kept in memory is read again.
    this.snapshotCache.drop();
    this.outbox.invalidate();
    return moved;
  }

  /** Operator: drop everything known locally about a VM (open outbox items and snapshot entry); the panel is not touched. */
  forget(key: VmKey): boolean {
    const { source, externalId } = parseVmKey(key);
    return this.writeTransaction(() =>
      this.conn.transaction(() => {
        const a = this.s.deleteOutboxOpen.run(source, externalId).changes;
        const b = this.s.deleteVpsByKey.run(source, externalId).changes;
        this.snapshotCache.delete(source, externalId, 'any');
        this.outbox.forgetKey(key);
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
        this.outbox.resolve(row.id, resolution, now);
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
    // One transaction, so `status` beside the daemon never reads a listing's row with the previous one's endpoint.
    this.conn.transaction(() => {
      this.s.upsertSourceStatus.run({
        name: status.name,
        kind: status.kind,
        up: status.up === null ? null : status.up ? 1 : 0,
        vms: status.vms,
        last_error: status.lastError,
        last_listed_at: status.lastListedAt,
      });
      this.s.setMeta.run(unreportedKey(status.name), status.unreported === null ? null : JSON.stringify(status.unreported));
      this.s.setMeta.run(endpointKey(status.name), status.endpoint === null ? null : JSON.stringify(status.endpoint));
    }).immediate();
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
      unreported: this.unreportedOf(r.name),
      endpoint: this.endpointOf(r.name),
    }));
  }

  private endpointOf(source: string): SourceEndpoint | null {
    const text = this.meta(endpointKey(source));
    if (text === null) return null;
    try {
      const v = JSON.parse(text) as Partial<SourceEndpoint> | null;
      if (typeof v?.url !== 'string' || typeof v.fallback !== 'boolean') return null;
      const p = v.primary;
      const primary = p && typeof p.url === 'string' && typeof p.failedAt === 'number' ? { primary: { url: p.url, failedAt: p.failedAt } } : {};
      return { url: v.url, fallback: v.fallback, ...primary };
    } catch {
      return null; // as for unreportedOf
    }
  }

  private unreportedOf(source: string): UnreportedSummary | null {
    const text = this.meta(unreportedKey(source));
    if (text === null) return null;
    try {
      const v = JSON.parse(text) as UnreportedSummary;
      return typeof v.vms === 'number' && typeof v.nodes === 'object' && v.nodes !== null ? v : null;
    } catch {
      return null; // a status line is not worth failing `status` over
    }
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
