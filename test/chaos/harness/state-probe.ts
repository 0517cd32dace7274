// Read-only looks into the daemon's state file (WAL, so reading beside the writer is safe),
// usable whether or not the daemon is alive right now.
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { OutboxItem, SnapshotEntry } from '../../../src/domain/types.js';
import { StateStore } from '../../../src/store/state-store.js';

export interface PassRow {
  readonly id: number;
  readonly finished: boolean;
  readonly result: string | null;
}

/** A finished pass with its times (ms, the daemon's clock: Date.now() of the same machine) and the problems it reported. */
export interface FinishedPass {
  readonly id: number;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly problems: readonly string[];
}

/** Queries the state file; each call opens and closes its own read-only connection. */
export class StateProbe {
  constructor(private readonly path: string) {}

  private query<T>(fn: (db: Database.Database) => T, fallback: T): T {
    if (!existsSync(this.path)) return fallback;
    const db = new Database(this.path, { readonly: true, fileMustExist: true, timeout: 2000 });
    try {
      return fn(db);
    } catch (err) {
      // The very first open may race the daemon's migration: no tables yet.
      if (/no such table/.test((err as Error).message)) return fallback;
      throw err;
    } finally {
      db.close();
    }
  }

  /** The newest pass (running or finished), or null before the first. */
  lastPass(): PassRow | null {
    return this.query((db) => {
      const r = db.prepare('SELECT id, finished_at, result FROM passes ORDER BY id DESC LIMIT 1').get() as { id: number; finished_at: number | null; result: string | null } | undefined;
      return r ? { id: r.id, finished: r.finished_at !== null, result: r.result } : null;
    }, null);
  }

  /** Finished passes with an id above `afterId`, oldest first. */
  finishedAfter(afterId: number): PassRow[] {
    return this.query(
      (db) =>
        (db.prepare('SELECT id, result FROM passes WHERE id > ? AND finished_at IS NOT NULL ORDER BY id').all(afterId) as { id: number; result: string }[]).map((r) => ({
          id: r.id,
          finished: true,
          result: r.result,
        })),
      [],
    );
  }

  /** Deletes the guards held in a finished pass (its summary's `held_delete` drift count). */
  heldDeletes(passId: number): number {
    return this.query((db) => {
      const r = db.prepare('SELECT summary_json FROM passes WHERE id = ?').get(passId) as { summary_json: string | null } | undefined;
      const summary = r?.summary_json ? (JSON.parse(r.summary_json) as { drift?: { held_delete?: number } }) : null;
      return summary?.drift?.held_delete ?? 0;
    }, 0);
  }

  /** Every finished pass, oldest first (a pass killed before it finished is not there). */
  finishedPasses(): FinishedPass[] {
    return this.query((db) => {
      const rows = db.prepare('SELECT id, started_at, finished_at, summary_json FROM passes WHERE finished_at IS NOT NULL ORDER BY id').all() as {
        id: number;
        started_at: number;
        finished_at: number;
        summary_json: string | null;
      }[];
      return rows.map((r) => ({
        id: r.id,
        startedAt: r.started_at,
        finishedAt: r.finished_at,
        problems: r.summary_json ? ((JSON.parse(r.summary_json) as { problems?: string[] }).problems ?? []) : [],
      }));
    }, []);
  }

  /** When each pass began, finished or not (a pass killed mid-way sent calls too), ascending. */
  passStarts(): number[] {
    return this.query((db) => (db.prepare('SELECT started_at FROM passes ORDER BY started_at').all() as { started_at: number }[]).map((r) => r.started_at), []);
  }

  /** The delete guard's consecutive-missing counters by VM key. */
  missingPasses(): Map<string, number> {
    return this.query((db) => {
      const rows = db.prepare('SELECT source, external_id, missing_passes FROM vps').all() as { source: string; external_id: string; missing_passes: number }[];
      return new Map(rows.map((r) => [`${r.source}/${r.external_id}`, r.missing_passes]));
    }, new Map<string, number>());
  }

  /** The snapshot and the open outbox, through the daemon's own read-only store. */
  read(): { snapshot: SnapshotEntry[]; open: OutboxItem[] } {
    if (!existsSync(this.path)) return { snapshot: [], open: [] };
    const store = new StateStore({ path: this.path, readonly: true });
    store.open();
    try {
      return { snapshot: store.snapshot(), open: store.openOutbox() };
    } finally {
      store.close();
    }
  }
}
