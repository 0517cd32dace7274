// The simulator's in-memory VPS table: a Map keyed by id, so every operation is O(1).
import type { RowFields } from './validate.js';
import type { PanelRow, SimAction, SimStatus, TableEvent } from './types.js';

/** The panel's `vps` table as the simulator keeps it. */
export class VpsTable {
  private rows = new Map<number, PanelRow>();
  private nextId = 1;
  /** Append-only change log; null (the default) keeps none, so benchmarks do not pay for it. */
  private events: TableEvent[] | null = null;

  constructor(private readonly now: () => number) {}

  /** Starts keeping an append-only log of every committed change (no-op when already on). */
  recordHistory(): void {
    this.events ??= [];
  }

  /** Copies of the logged changes in commit order (empty when history is off). */
  history(): TableEvent[] {
    return (this.events ?? []).map((e) => ({ ...e, row: { ...e.row } }));
  }

  private log(change: SimAction, row: PanelRow): void {
    this.events?.push({ seq: this.events.length + 1, at: this.now(), change, row: { ...row } });
  }

  /** Inserts a row with the next id (a plain INSERT: no uniqueness on name or user). */
  insert(fields: RowFields): PanelRow {
    const at = new Date(this.now()).toISOString();
    const row: PanelRow = { id: this.nextId++, ...fields, created_at: at, updated_at: at };
    this.rows.set(row.id, row);
    this.log('create', row);
    return row;
  }

  /** Applies a status and optional fields; null when the id is unknown. */
  update(id: number, status: SimStatus, patch: Partial<RowFields>): PanelRow | null {
    const row = this.rows.get(id);
    if (!row) return null;
    Object.assign(row, patch, { status, updated_at: new Date(this.now()).toISOString() });
    this.log('update', row);
    return row;
  }

  /** Hard-deletes a row; returns it, or null when the id is unknown. */
  remove(id: number): PanelRow | null {
    const row = this.rows.get(id);
    if (!row) return null;
    this.rows.delete(id);
    this.log('delete', row);
    return row;
  }

  /** A copy of every row in id order, for tests and `/_sim/table`. */
  snapshot(): PanelRow[] {
    return [...this.rows.values()].map((r) => ({ ...r }));
  }

  /** Number of rows, without copying them. */
  get size(): number {
    return this.rows.size;
  }

  /** The id the next insert will get. */
  get upcomingId(): number {
    return this.nextId;
  }

  /** Empties the table and restarts ids at 1. */
  clear(): void {
    this.rows.clear();
    this.nextId = 1;
    if (this.events) this.events = [];
  }
}
