// The daemon's in-memory copy of the snapshot (the `vps` table). Reading 100,000 rows back costs a
// pass 0.2-0.5 s and builds all of that data anew while the pass holds its listings: that made the
// pass after every pass with writes (the first after an initial sync, the one after each drift
// pass — in production, most passes) the slowest one.
// So the store tells the cache what each of its own committed writes did to `vps`, and the cache
// replays that on its entries; it re-reads the table only when another process wrote the file
// (`resolve` beside the running daemon, seen as a new `PRAGMA data_version`).
//
// Writes are staged while their transaction runs and kept only once it committed: a rolled-back
// transaction leaves the cache as it was, like the file. Each change mirrors its SQL statement
// exactly, including which rows it matches (an update or delete of a VPS matches its panel id).
import type { Ownership, PanelFields, SnapshotEntry, VmKey } from '../domain/types.js';
import { vmKey } from '../domain/types.js';

/** A `vps` row as the store reads it (raw mode), in its column order. */
export type VpsTuple = [
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

/** Pending changes above this (plus an eighth of the entries) are applied at commit. */
const APPLY_AT_CHANGES = 1024;

/** What one statement did to one VM's row. */
type Change =
  /** INSERT … ON CONFLICT DO UPDATE: the row is this entry now (missing_passes 0). */
  | { readonly op: 'put'; readonly entry: SnapshotEntry }
  /** UPDATE … WHERE panel_id = ?: owner and fields replaced, panel id and missing count kept. */
  | { readonly op: 'update'; readonly panelId: number | null; readonly owner: Ownership; readonly sent: PanelFields }
  /** DELETE … WHERE panel_id = ? (`any`: whatever its panel id). */
  | { readonly op: 'delete'; readonly panelId: number | null | 'any' }
  /** UPDATE vps SET missing_passes = ?. */
  | { readonly op: 'missing'; readonly count: number };

/** The cached entries of one state file connection. */
export class SnapshotCache {
  private entries: SnapshotEntry[] | null = null;
  private dataVersion = -1;
  /**
   * One copy of each repeated value (source, os, status, hypervisor) for as long as the cache
   * lives, instead of one string per row: ~12 MB at 100,000 VPSes.
   */
  private shared = new Map<string, string>();
  /**
   * Committed changes not yet applied to `entries`, per VM in the order they were made (a list
   * only for a VM changed more than once: an initial sync adds 100,000 VMs with one change each).
   */
  private changes = new Map<VmKey, Change | Change[]>();
  /** Changes of the transaction in progress: `stagedChanges[i]` is of the VM `stagedKeys[i]`. */
  private stagedKeys: VmKey[] = [];
  private stagedChanges: Change[] = [];

  /**
   * The entries (a new array each call; the entries themselves are immutable). `read` is called
   * only when nothing is cached or `dataVersion` says another connection wrote the file. The order
   * is the table's for a fresh read; VPSes added since come after the others.
   */
  list(dataVersion: number, read: () => Iterable<VpsTuple>): SnapshotEntry[] {
    if (this.entries === null || this.dataVersion !== dataVersion) {
      this.drop();
      const entries: SnapshotEntry[] = [];
      for (const row of read()) entries.push(this.fromRow(row));
      this.entries = entries;
      this.dataVersion = dataVersion;
    } else if (this.changes.size > 0) {
      this.entries = this.applyChanges(this.entries);
    }
    return this.entries.slice();
  }

  /** Forgets everything (the next `list` reads the table). */
  drop(): void {
    this.entries = null;
    this.changes = new Map();
    this.rollback();
    this.shared = new Map();
  }

  /**
   * An upsert of a VPS the panel now has (missing_passes 0). `owner`, when given, is the journaled
   * call's: the entry shares it and `fields` when they hold what the row does (an initial sync
   * then adds no objects of its own per VPS beyond the entry), else it gets copies.
   */
  put(source: string, externalId: string, panelId: number, billingId: string | null, fields: PanelFields, owner?: Ownership): void {
    if (this.entries === null) return; // nothing cached: the next read sees the row
    const shared = this.intern(source);
    const entry: SnapshotEntry = {
      key: vmKey(shared, externalId),
      source: shared,
      externalId,
      panelId,
      owner: owner !== undefined && owner.userId === fields.user_id && owner.billingId === billingId ? owner : { userId: fields.user_id, billingId },
      sent: this.isShareable(fields) ? fields : this.copy(fields),
      missingPasses: 0,
    };
    this.stage(entry.key, { op: 'put', entry });
  }

  /** An update of the fields of the VPS with `panelId`. */
  update(source: string, externalId: string, panelId: number | null, billingId: string | null, fields: PanelFields): void {
    if (this.entries === null) return;
    const sent = this.isShareable(fields) ? fields : this.copy(fields);
    this.stage(vmKey(source, externalId), { op: 'update', panelId, owner: { userId: fields.user_id, billingId }, sent });
  }

  /** A delete of the VM's row if its panel id is `panelId` (`any`: whatever it is). */
  delete(source: string, externalId: string, panelId: number | null | 'any'): void {
    if (this.entries === null) return;
    this.stage(vmKey(source, externalId), { op: 'delete', panelId });
  }

  /** A new consecutive-missing count. */
  missing(key: VmKey, count: number): void {
    if (this.entries === null) return;
    this.stage(key, { op: 'missing', count });
  }

  /** The transaction that staged changes committed: they are the file's now. */
  commit(): void {
    const keys = this.stagedKeys;
    const staged = this.stagedChanges;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const change = staged[i]!;
      const before = this.changes.get(key);
      if (before === undefined) this.changes.set(key, change);
      else if (Array.isArray(before)) before.push(change);
      else this.changes.set(key, [before, change]);
    }
    this.rollback();
    // Applied now rather than at the next read once they are many (an initial sync adds every VM):
    // a pending change costs more memory than the entry it makes, and applying them walks all
    // entries, so this bound keeps both the change map and the total walking linear in the writes.
    if (this.entries !== null && this.changes.size > APPLY_AT_CHANGES + (this.entries.length >> 3)) this.entries = this.applyChanges(this.entries);
  }

  /** The transaction rolled back: its changes never happened. */
  rollback(): void {
    if (this.stagedKeys.length === 0) return;
    this.stagedKeys = [];
    this.stagedChanges = [];
  }

  private stage(key: VmKey, change: Change): void {
    this.stagedKeys.push(key);
    this.stagedChanges.push(change);
  }

  /** The entries with every committed change applied: one walk over the entries, new VPSes last. */
  private applyChanges(entries: readonly SnapshotEntry[]): SnapshotEntry[] {
    const changes = this.changes;
    this.changes = new Map();
    const out: SnapshotEntry[] = [];
    for (const entry of entries) {
      const list = changes.get(entry.key);
      if (list === undefined) {
        out.push(entry);
        continue;
      }
      changes.delete(entry.key);
      const next = replay(entry, list);
      if (next) out.push(next);
    }
    for (const list of changes.values()) {
      const added = replay(undefined, list);
      if (added) out.push(added);
    }
    return out;
  }

  private fromRow(r: VpsTuple): SnapshotEntry {
    const [rawSource, externalId, panelId, userId, billingId, name, cpu, ram, disk, os, status, hypervisor, missingPasses] = r;
    const source = this.intern(rawSource);
    return {
      key: vmKey(source, externalId),
      source,
      externalId,
      panelId,
      owner: { userId, billingId },
      sent: { user_id: userId, name, cpu, ram, disk, os: this.intern(os), status: this.intern(status), hypervisor: this.intern(hypervisor) },
      missingPasses,
    };
  }

  /**
   * Whether a call's fields object can be the entry's own: it is immutable and has exactly the
   * table's columns (PanelFields), so only its repeated values must be the shared copies.
   */
  private isShareable(f: PanelFields): boolean {
    return this.intern(f.os) === f.os && this.intern(f.status) === f.status && this.intern(f.hypervisor) === f.hypervisor;
  }

  /** The fields with the shared copies of their repeated values, in the table's column order. */
  private copy(f: PanelFields): PanelFields {
    return { user_id: f.user_id, name: f.name, cpu: f.cpu, ram: f.ram, disk: f.disk, os: this.intern(f.os), status: this.intern(f.status), hypervisor: this.intern(f.hypervisor) };
  }

  private intern<T extends string>(text: T): T {
    const known = this.shared.get(text);
    if (known !== undefined) return known as T;
    this.shared.set(text, text);
    return text;
  }
}

/** A VM's row after `changes`, in order; undefined when it has none. */
function replay(entry: SnapshotEntry | undefined, changes: Change | readonly Change[]): SnapshotEntry | undefined {
  let current = entry;
  for (const change of Array.isArray(changes) ? changes : [changes]) {
    switch (change.op) {
      case 'put':
        current = change.entry;
        break;
      case 'update':
        // SQL: `panel_id = NULL` matches no row.
        if (current && change.panelId !== null && current.panelId === change.panelId) current = { ...current, owner: change.owner, sent: change.sent };
        break;
      case 'delete':
        if (current && (change.panelId === 'any' || (change.panelId !== null && current.panelId === change.panelId))) current = undefined;
        break;
      case 'missing':
        if (current) current = { ...current, missingPasses: change.count };
        break;
    }
  }
  return current;
}
