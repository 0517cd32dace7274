// The simulator's in-memory VPS table: a Map keyed by id, so every operation is O(1).
import type { RowFields } from './validate.js';
import type { PanelRow, SimStatus } from './types.js';

/** The panel's `vps` table as the simulator keeps it. */
export class VpsTable {
  private rows = new Map<number, PanelRow>();
  private nextId = 1;

  constructor(private readonly now: () => number) {}

  /** Inserts a row with the next id (a plain INSERT: no uniqueness on name or user). */
  insert(fields: RowFields): PanelRow {
    const at = new Date(this.now()).toISOString();
    const row: PanelRow = { id: this.nextId++, ...fields, created_at: at, updated_at: at };
    this.rows.set(row.id, row);
    return row;
  }

  /** Applies a status and optional fields; null when the id is unknown. */
  update(id: number, status: SimStatus, patch: Partial<RowFields>): PanelRow | null {
    const row = this.rows.get(id);
    if (!row) return null;
    Object.assign(row, patch, { status, updated_at: new Date(this.now()).toISOString() });
    return row;
  }

  /** Hard-deletes a row; returns it, or null when the id is unknown. */
  remove(id: number): PanelRow | null {
    const row = this.rows.get(id);
    if (!row) return null;
    this.rows.delete(id);
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
  }
}
