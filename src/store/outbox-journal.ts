// The outbox's write path, the hot path of an initial sync (one journal and one resolution per
// create): a call is journaled in_flight before it is sent, and its answer is recorded together
// with the snapshot change it implies. Statements are positional, prepared once, and never use
// RETURNING (SQLite buffers those rows in a temporary table); the outbox holds open items only (a
// finished call's row is deleted), which keeps the pages each group commit writes few (see
// migration 2). Every method here runs inside a write transaction that StateStore opens.
import type { Database, Statement } from 'better-sqlite3';
import type { Action, ActionKind, PanelFields, VmKey } from '../domain/types.js';
import { vmKey, parseVmKey } from '../domain/types.js';
import type { OutboxRow } from './outbox-row.js';
import type { SnapshotCache } from './snapshot-cache.js';

/** How a journaled call ended, as the store records it. */
export type Resolution =
  | { readonly outcome: 'created'; readonly panelId: number }
  | { readonly outcome: 'updated' }
  | { readonly outcome: 'deleted' }
  /** The panel does not have the VPS (update answered 404): forget our entry so it is created again. */
  | { readonly outcome: 'vanished' }
  | { readonly outcome: 'failed'; readonly failure: 'retryable' | 'rejected'; readonly error: string; readonly nextAttemptAt: number | null }
  | { readonly outcome: 'ambiguous'; readonly error: string };

/** An answer for a group commit. */
export interface ResolutionEntry {
  readonly outboxId: number;
  readonly resolution: Resolution;
  readonly now: number;
  /** The journaled action, if the caller has it (saves reading the row back). */
  readonly action?: Action;
}

/** A call for a group commit to journal. */
export interface JournalCall {
  readonly action: Action;
  readonly passId: number | null;
  readonly now: number;
}

/**
 * A panel id the panel handed out again: we held it for `formerKey`, and a create for `key` was
 * just answered with it. The panel only reuses an id whose VPS is gone, so `formerKey`'s snapshot
 * entry and its open update or delete were dropped (sent, they would change or delete `key`'s new
 * VPS); the next pass creates `formerKey`'s VPS again if its VM is still there and billed.
 */
export interface ReassignedPanelId {
  readonly panelId: number;
  readonly formerKey: VmKey;
  readonly key: VmKey;
  /** Not an id handed out again: the panel answered two creates of one group commit with it (a panel fault). */
  readonly answeredTwice?: true;
  /**
   * `formerKey`'s update or delete of that id was on its way: it may reach `key`'s new VPS, so an
   * update with `key`'s fields was left due (failed, retryable) for the next pass.
   */
  readonly callInFlight?: 'update' | 'delete';
}

/** A journaled call: the outbox id to resolve it with, and its attempt number. */
export interface JournalEntry {
  readonly id: number;
  readonly attempts: number;
}

/**
 * An update or delete not journaled, so not to be sent: earlier in this pass the panel gave its
 * VPS's id to the new VPS of `supersededBy` (see ReassignedPanelId), which the call would change or delete.
 */
export interface SupersededCall {
  readonly supersededBy: VmKey;
}

/** What a group commit answers for each call: journaled (send it), or superseded (do not). */
export type JournalOutcome = JournalEntry | SupersededCall;

/** The entry of a call that must have been journaled (a create is never superseded); throws otherwise. */
export function journaledEntry(outcome: JournalOutcome): JournalEntry {
  if ('supersededBy' in outcome) throw new Error(`the call was not journaled: its VPS's panel id went to ${outcome.supersededBy}`);
  return outcome;
}

/** The fields of a create's VPS that release() hands to its new holder. */
interface NewHolder {
  readonly key: VmKey;
  readonly fields: PanelFields;
  readonly billingId: string | null;
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

type CreateAction = Extract<Action, { kind: 'create' }>;

/** Rows per multi-row statement in a group commit (a batch is ~4-8 calls at concurrency 8). */
const MULTI_ROW = 32;
/** Values per row of upsertVpsSql and journalCreatesSql. */
const VPS_COLUMNS = 13;
const JOURNAL_CREATE_COLUMNS = 9;

/** The outbox writes of a writable state file. Made by StateStore.open(), used inside its transactions. */
export class OutboxJournal {
  /**
   * The id the next journaled call gets. Counted here rather than by SQLite: SQLite hands out
   * MAX(id)+1, and as finished rows are deleted that would give a new call the id of one resolved a
   * moment ago — or of one `resolve --forget` removed while its answer was still on the way, whose
   * resolution would then close the new call's row. Counted from the largest id at open, so an id
   * is never reused while this process may still hold it (AUTOINCREMENT would cost a page write
   * per transaction for the same guarantee). Only the daemon journals.
   */
  private nextOutboxId: number;
  /**
   * Keys (`kind:source/external id`) of the failed and ambiguous outbox items, a superset: a
   * journal looks up an item to reuse only for these, every other call is a plain INSERT. In-flight
   * rows live for one round trip and are not indexed (see migration 2), so this set, not a UNIQUE
   * conflict, is what finds the item a retry reuses. Only this process turns calls into failed or
   * ambiguous items (`resolve` beside the daemon only changes such items or drops them, which
   * leaves a stale key here: harmless), so the set stays complete. null: read it from the file
   * when next needed (see invalidate()).
   */
  private settledCache: Set<string> | null = null;
  /**
   * The largest panel id the snapshot holds, or more (null: read it when next needed). The panel's
   * ids count up (MySQL AUTO_INCREMENT), so a create answered with a larger one cannot be an id we
   * hold for another VM: only ids at or below it are looked up (see release()). No index on
   * panel_id for that: maintaining one cost ~5 µs per create of the initial sync (store-bench), the
   * lookup without it scans the table and happens only when the panel hands an id out again.
   */
  private maxPanelIdCache: number | null = null;
  /** Reassigned panel ids of the transaction in progress, and of committed ones not yet taken (see takeReassigned()). */
  private stagedReassigned: ReassignedPanelId[] = [];
  private committedReassigned: ReassignedPanelId[] = [];
  /** Multi-row statements by row count (see groupCommitFn). */
  private readonly multiRowStatements = {
    upsertVps: new Map<number, Statement>(),
    journalCreates: new Map<number, Statement>(),
    vpsWithPanelIds: new Map<number, Statement>(),
  };
  private readonly s: ReturnType<typeof prepare>;
  /** The group commit's transaction, made once (better-sqlite3 builds a wrapper per transaction() call). */
  readonly groupCommit: ReturnType<OutboxJournal['groupCommitFn']>;

  private constructor(
    private readonly db: Database,
    private readonly snapshotCache: SnapshotCache,
  ) {
    this.s = prepare(db);
    this.groupCommit = this.groupCommitFn(db);
    this.nextOutboxId = (this.s.maxOutboxId.get() as { id: number }).id + 1;
  }

  /** Binds to a writable connection whose schema is migrated; snapshot writes are mirrored on `snapshotCache`. */
  static open(db: Database, snapshotCache: SnapshotCache): OutboxJournal {
    return new OutboxJournal(db, snapshotCache);
  }

  /**
   * Forget what `settled` knows; it is read from the file when next needed. After a failed
   * transaction (the set may have followed changes that did not happen) and after recovery.
   */
  invalidate(): void {
    this.settledCache = null;
    this.maxPanelIdCache = null;
    this.stagedReassigned = [];
  }

  /** After StateStore's transaction committed: what it staged happened. */
  commit(): void {
    if (this.stagedReassigned.length === 0) return;
    this.committedReassigned.push(...this.stagedReassigned);
    this.stagedReassigned = [];
  }

  /** The panel ids reassigned by committed transactions since the last call (for the engine to report). */
  takeReassigned(): ReassignedPanelId[] {
    const taken = this.committedReassigned;
    this.committedReassigned = [];
    return taken;
  }

  /** After an operator dropped every item of `key`: none of its kinds can have a settled item. */
  forgetKey(key: VmKey): void {
    for (const kind of ['create', 'update', 'delete'] as const) this.settled.delete(settledKey(kind, key));
  }

  /**
   * Group commit: records answers, then journals the next calls, all in ONE transaction (one WAL
   * commit instead of one per call). Answers come first, so a VM's next call is journaled after its
   * previous one was resolved, as with separate transactions. Runs of created VPSes and of new
   * creates are written with one multi-row statement each (better-sqlite3 costs ~0.4 µs per
   * statement run, whatever its row count); everything else row by row, in the order given.
   */
  private groupCommitFn(db: Database) {
    return db.transaction((resolutions: readonly ResolutionEntry[], calls: readonly JournalCall[]): JournalOutcome[] => {
      for (let i = 0; i < resolutions.length; ) {
        let end = i;
        while (end < resolutions.length && end - i < MULTI_ROW && isCreatedWithAction(resolutions[end]!)) end++;
        if (end - i > 1) {
          this.recordCreated(resolutions, i, end);
          i = end;
        } else {
          const r = resolutions[i++]!;
          this.resolve(r.outboxId, r.resolution, r.now, r.action);
        }
      }
      const entries: JournalOutcome[] = new Array(calls.length);
      for (let i = 0; i < calls.length; ) {
        let end = i;
        while (end < calls.length && end - i < MULTI_ROW && this.isNewCreate(calls[end]!.action)) end++;
        if (end - i > 1) {
          this.journalNewCreates(calls, i, end, entries);
          i = end;
        } else {
          const c = calls[i]!;
          entries[i++] = this.supersededBy(c.action) ?? this.journal(c.action, c.passId, c.now);
        }
      }
      return entries;
    });
  }

  /**
   * Whether `action` is an update or delete of a panel id the panel has given to another VM's new
   * VPS since the pass began (this transaction's releases and the committed ones apply() has not
   * taken yet): sent, it would change or delete that VPS.
   */
  private supersededBy(action: Action): SupersededCall | null {
    if (action.kind === 'create' || (this.stagedReassigned.length === 0 && this.committedReassigned.length === 0)) return null;
    const matches = (r: ReassignedPanelId): boolean => r.formerKey === action.key && r.panelId === action.panelId;
    const reassigned = this.stagedReassigned.find(matches) ?? this.committedReassigned.find(matches);
    return reassigned ? { supersededBy: reassigned.key } : null;
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

  /** The in_flight row of `action`, new or (for a call sent again after a failure) its failed item reused. */
  journal(action: Action, passId: number | null, now: number): JournalEntry {
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
      const item = this.s.settledItemByKey.get(source, externalId, kind) as JournalEntry | undefined;
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
      return this.journal(action, passId, now);
    }
    this.nextOutboxId = id + 1;
    return { id, attempts: 1 };
  }

  /** `calls[from..to)`, all creates without a failed item to reuse (isNewCreate): their in_flight rows in one statement. */
  private journalNewCreates(calls: readonly JournalCall[], from: number, to: number, entries: JournalOutcome[]): void {
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
    const n = to - from;
    const panelIds: number[] = new Array(n);
    for (let i = from; i < to; i++) panelIds[i - from] = (resolutions[i]!.resolution as Extract<Resolution, { outcome: 'created' }>).panelId;
    if (new Set(panelIds).size < n) {
      // The panel answered two creates with one id (broken): one by one, so the later one finds the earlier.
      const staged = this.stagedReassigned.length;
      for (let i = from; i < to; i++) this.resolve(resolutions[i]!.outboxId, resolutions[i]!.resolution, resolutions[i]!.now, resolutions[i]!.action);
      const batchKeys = new Set(resolutions.slice(from, to).map((r) => r.action!.key));
      for (let i = staged; i < this.stagedReassigned.length; i++) {
        const r = this.stagedReassigned[i]!;
        if (batchKeys.has(r.formerKey)) this.stagedReassigned[i] = { ...r, answeredTwice: true };
      }
      return;
    }
    const held = this.maxPanelId;
    let batchMax = 0;
    for (const id of panelIds) if (id > batchMax) batchMax = id;
    if (panelIds.some((id) => id <= held)) {
      const holders = this.multiRow('vpsWithPanelIds', n).raw(true).all(panelIds) as Array<[string, string, number]>;
      const createdWith = new Map(panelIds.map((id, j) => [id, resolutions[from + j]!]));
      for (const [source, externalId, panelId] of holders) {
        const r = createdWith.get(panelId)!;
        const action = r.action as CreateAction;
        this.release(source, externalId, panelId, { key: action.key, fields: action.desired.fields, billingId: action.desired.owner.billingId }, r.now);
      }
    }
    if (batchMax > held) this.maxPanelIdCache = batchMax;
    const values: unknown[] = new Array(n * VPS_COLUMNS);
    let v = 0;
    for (let i = from; i < to; i++) {
      const r = resolutions[i]!;
      const action = r.action as CreateAction;
      const { source, externalId } = parseVmKey(action.key);
      const f = action.desired.fields;
      const panelId = panelIds[i - from]!;
      // Staged only: it reaches the cache if the transaction commits (StateStore's writeTransaction).
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

  /** The snapshot row holding `panelId`, if any (a table scan: see maxPanelIdCache). */
  vpsHolding(panelId: number): { source: string; externalId: string } | null {
    const row = this.s.vpsWithPanelId.get(panelId) as [string, string] | undefined;
    return row ? { source: row[0], externalId: row[1] } : null;
  }

  /** See maxPanelIdCache. */
  private get maxPanelId(): number {
    this.maxPanelIdCache ??= (this.s.maxPanelId.get() as { id: number }).id;
    return this.maxPanelIdCache;
  }

  /** A multi-row statement for `rows` rows, prepared on first use. */
  private multiRow(which: keyof OutboxJournal['multiRowStatements'], rows: number): Statement {
    const cache = this.multiRowStatements[which];
    let statement = cache.get(rows);
    if (!statement) {
      const sql = which === 'upsertVps' ? upsertVpsSql(rows) : which === 'journalCreates' ? journalCreatesSql(rows) : vpsWithPanelIdsSql(rows);
      statement = this.db.prepare(sql);
      cache.set(rows, statement);
    }
    return statement;
  }

  /**
   * The panel created `holder`'s VPS under `panelId`, which the snapshot row of (source, externalId)
   * still holds: unless that row is the holder's own, it is stale — dropped with its open update or
   * delete, and reported (see ReassignedPanelId). Later calls of this pass to that id are
   * superseded (supersededBy); one already on its way may land on the new VPS, so the holder's
   * fields are left due to be sent again (a delete that landed then shows as a 404, and the VPS is
   * created again).
   */
  private release(source: string, externalId: string, panelId: number, holder: NewHolder, now: number): void {
    const formerKey = vmKey(source, externalId);
    if (formerKey === holder.key) return; // its own row: the upsert that follows replaces it
    const inFlight = this.s.callInFlightToVps.get(source, externalId, panelId) as ['update' | 'delete'] | undefined;
    this.s.deleteVps.run(source, externalId, panelId);
    this.snapshotCache.delete(source, externalId, panelId);
    this.s.dropCallsToVps.run(source, externalId, panelId);
    if (inFlight) this.sendAgainLater(holder, panelId, formerKey, inFlight[0], now);
    this.stagedReassigned.push({ panelId, formerKey, key: holder.key, ...(inFlight ? { callInFlight: inFlight[0] } : {}) });
  }

  /** An update of `holder`'s new VPS with its own fields, left failed and retryable, due at once. */
  private sendAgainLater(holder: NewHolder, panelId: number, formerKey: VmKey, kind: 'update' | 'delete', now: number): void {
    const { source, externalId } = parseVmKey(holder.key);
    const owner = { userId: holder.fields.user_id, billingId: holder.billingId };
    const update: Action = {
      kind: 'update',
      key: holder.key,
      panelId,
      desired: { key: holder.key, source, externalId, owner, fields: holder.fields },
      changed: [],
      ownerConfirmed: true,
    };
    const entry = this.journal(update, null, now);
    const error = `the ${kind} of ${formerKey} to #${panelId} was on its way when the panel gave #${panelId} to ${holder.key}: it may have reached this VPS, so its fields are sent again`;
    this.resolve(entry.id, { outcome: 'failed', failure: 'retryable', error, nextAttemptAt: now }, now, update);
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

  /** Records one answer (see Resolution) and the snapshot change it implies. */
  resolve(outboxId: number, resolution: Resolution, now: number, action?: Action): void {
    const item = this.journaledCall(outboxId, action);
    const { source, external_id: externalId } = item;
    const key = settledKey(item.kind, vmKey(source, externalId));
    switch (resolution.outcome) {
      case 'created': {
        const f = item.fields;
        if (!f) throw new Error(`outbox item ${outboxId}: a create without fields`);
        const held = this.maxPanelId;
        if (resolution.panelId <= held) {
          const holder = this.vpsHolding(resolution.panelId);
          if (holder) this.release(holder.source, holder.externalId, resolution.panelId, { key: vmKey(source, externalId), fields: f, billingId: item.billing_id }, now);
        } else {
          this.maxPanelIdCache = resolution.panelId;
        }
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
}

function prepare(db: Database) {
  return {
    // A new in_flight row; a call sent again after a failure reuses its item instead (journalRetry).
    journalInsert: db.prepare(`
      INSERT INTO outbox (id, source, external_id, kind, panel_id, fields_json, user_id, billing_id, state, attempts, pass_id, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'in_flight', 1, ?, ?, ?)`),
    maxOutboxId: db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM outbox'),
    // `state <> 'in_flight'` as in the index outbox_settled, so these use it.
    settledKeys: db.prepare("SELECT source, external_id, kind FROM outbox WHERE state <> 'in_flight'"),
    settledItemByKey: db.prepare("SELECT id, attempts FROM outbox WHERE source = ? AND external_id = ? AND kind = ? AND state <> 'in_flight'"),
    journalRetry: db.prepare(`
      UPDATE outbox SET panel_id = ?, fields_json = ?, user_id = ?, billing_id = ?, state = 'in_flight', failure = NULL,
        attempts = attempts + 1, pass_id = ?, updated_at = ?
      WHERE id = ?`),
    outboxById: db.prepare('SELECT * FROM outbox WHERE id = ?'),
    outboxDone: db.prepare('DELETE FROM outbox WHERE id = ?'),
    outboxFailed: db.prepare("UPDATE outbox SET state = 'failed', failure = ?, last_error = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?"),
    outboxAmbiguous: db.prepare("UPDATE outbox SET state = 'ambiguous', failure = NULL, last_error = ?, next_attempt_at = NULL, updated_at = ? WHERE id = ?"),
    // Every statement that writes `vps` is mirrored on the snapshot cache.
    upsertVps: db.prepare(upsertVpsSql(1)),
    updateVpsFields: db.prepare(`
      UPDATE vps SET user_id = ?, billing_id = ?, name = ?, cpu = ?, ram = ?, disk = ?, os = ?, status = ?, hypervisor = ?, updated_at = ?
      WHERE source = ? AND external_id = ? AND panel_id = ?`),
    deleteVps: db.prepare('DELETE FROM vps WHERE source = ? AND external_id = ? AND panel_id = ?'),
    // A scan (no index on panel_id, see maxPanelIdCache); at most one row unless an older build recorded a reused id twice.
    vpsWithPanelId: db.prepare('SELECT source, external_id FROM vps WHERE panel_id = ? LIMIT 1').raw(true),
    maxPanelId: db.prepare('SELECT COALESCE(MAX(panel_id), 0) AS id FROM vps'),
    // Whether such a VPS has an update or delete on its way (journaled by this process, not answered yet).
    callInFlightToVps: db.prepare("SELECT kind FROM outbox WHERE source = ? AND external_id = ? AND panel_id = ? AND kind <> 'create' AND state = 'in_flight' LIMIT 1").raw(true),
    // The open update or delete of a VPS whose panel id went to another VM's VPS.
    dropCallsToVps: db.prepare("DELETE FROM outbox WHERE source = ? AND external_id = ? AND panel_id = ? AND kind <> 'create'"),
  };
}

/** The snapshot rows holding any of `rows` panel ids (normally none). */
function vpsWithPanelIdsSql(rows: number): string {
  return `SELECT source, external_id, panel_id FROM vps WHERE panel_id IN (${Array.from({ length: rows }, () => '?').join(', ')})`;
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

/** New in_flight rows for `rows` creates, with the ids the journal counted. */
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
