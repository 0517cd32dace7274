// The vSphere sources' per-VM detail cache, kept in the state file so that a restarted daemon (a
// deploy, a reboot) or a `plan` does not fetch every VM's details again: at 10,000 VMware VMs that
// is ~18,000 calls (at 20-50 ms a call, 8 at a time, 45-110 s against a real vCenter).
//
// A cache, not state: losing it costs calls, never correctness. So it stays out of the versioned
// schema (migrations.ts): a writer creates the table if it is missing and does not touch
// `user_version`, and an older build simply ignores the table — a rollback never has to throw the
// state file away for a cache. A different row layout gets a new table name (`_v2`), not a migration.
// Every row is checked when read; a row that does not hold a usable detail is skipped, and that VM's
// detail is fetched again.
import type { Database, Statement } from 'better-sqlite3';

const TABLE = 'vsphere_detail_cache_v1';

const CREATE_TABLE = `
  CREATE TABLE IF NOT EXISTS ${TABLE} (
    source          TEXT    NOT NULL,
    vm_id           TEXT    NOT NULL,
    list_key        TEXT    NOT NULL,
    refresh_at      INTEGER NOT NULL,
    cpu             INTEGER NOT NULL,
    memory_mib      INTEGER NOT NULL,
    disk_bytes      INTEGER NOT NULL,
    guest_os        TEXT,
    guest_full_name TEXT,
    PRIMARY KEY (source, vm_id)
  ) WITHOUT ROWID`;

/** One VM's detail as the vSphere source caches it (see sources/vmware/details.ts). */
export interface StoredDetail {
  readonly listKey: string;
  readonly refreshAt: number;
  readonly cpu: number;
  readonly memoryMiB: number;
  readonly diskBytes: number;
  readonly guestOs: string | null;
  readonly guestFullName: string | null;
}

/** What a source's cache looked like in the file. */
export interface LoadedDetails {
  readonly details: Map<string, StoredDetail>;
  /** Rows skipped because they did not hold a usable detail (those VMs are fetched again). */
  readonly unreadable: number;
}

/** Changes to one source's cached details, written in one transaction. */
export interface DetailChanges {
  readonly upserts: ReadonlyMap<string, StoredDetail>;
  readonly removed: Iterable<string>;
  /** Replace everything stored for the source with `upserts` (after a failed save). */
  readonly replaceAll: boolean;
}

/** The detail-cache table of an open state file. */
export class DetailTable {
  private constructor(
    private readonly db: Database,
    private readonly statements: {
      readonly load: Statement;
      readonly upsert: Statement;
      readonly remove: Statement;
      readonly removeSource: Statement;
      readonly renameSource: Statement;
      readonly sources: Statement;
    } | null,
    private readonly writable: boolean,
  ) {}

  /**
   * Binds to the open connection. A writer creates the table if it is missing; a read-only view of
   * a file no writer has created it in yet sees an empty cache.
   */
  static open(db: Database, readonly: boolean): DetailTable {
    if (!readonly) db.exec(CREATE_TABLE);
    const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(TABLE) !== undefined;
    if (!exists) return new DetailTable(db, null, false);
    const w = (sql: string): Statement => (readonly ? (null as unknown as Statement) : db.prepare(sql));
    return new DetailTable(
      db,
      {
        load: db.prepare(`SELECT vm_id, list_key, refresh_at, cpu, memory_mib, disk_bytes, guest_os, guest_full_name FROM ${TABLE} WHERE source = ?`).raw(true),
        upsert: w(`
          INSERT INTO ${TABLE} (source, vm_id, list_key, refresh_at, cpu, memory_mib, disk_bytes, guest_os, guest_full_name)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (source, vm_id) DO UPDATE SET list_key = excluded.list_key, refresh_at = excluded.refresh_at, cpu = excluded.cpu,
            memory_mib = excluded.memory_mib, disk_bytes = excluded.disk_bytes, guest_os = excluded.guest_os, guest_full_name = excluded.guest_full_name`),
        remove: w(`DELETE FROM ${TABLE} WHERE source = ? AND vm_id = ?`),
        removeSource: w(`DELETE FROM ${TABLE} WHERE source = ?`),
        renameSource: w(`UPDATE ${TABLE} SET source = ? WHERE source = ?`),
        sources: db.prepare(`SELECT DISTINCT source FROM ${TABLE}`).pluck(),
      },
      !readonly,
    );
  }

  /** The cached details of `source`. */
  load(source: string): LoadedDetails {
    const details = new Map<string, StoredDetail>();
    let unreadable = 0;
    if (!this.statements) return { details, unreadable };
    for (const row of this.statements.load.iterate(source) as Iterable<unknown[]>) {
      const detail = toDetail(row);
      if (detail) details.set(row[0] as string, detail);
      else unreadable++;
    }
    return { details, unreadable };
  }

  /** Writes one listing's changes for `source`. Throws on a read-only view. */
  save(source: string, changes: DetailChanges): void {
    const s = this.writableStatements();
    this.db
      .transaction(() => {
        if (changes.replaceAll) s.removeSource.run(source);
        else for (const id of changes.removed) s.remove.run(source, id);
        for (const [id, d] of changes.upserts) s.upsert.run(source, id, d.listKey, d.refreshAt, d.cpu, d.memoryMiB, d.diskBytes, d.guestOs, d.guestFullName);
      })
      .immediate();
  }

  /** Drops the cache of every source not in `names` (a source removed from the config). Returns how many sources. */
  retainSources(names: readonly string[]): number {
    const s = this.writableStatements();
    const keep = new Set(names);
    const gone = (s.sources.all() as string[]).filter((name) => !keep.has(name));
    if (gone.length > 0) this.db.transaction(() => gone.forEach((name) => s.removeSource.run(name))).immediate();
    return gone.length;
  }

  /**
   * Moves `from`'s cache to `to` (a renamed source), or drops it when `to` is null. What `to` had
   * cached goes first: it is a cache, and keeping it would make the rename fail on a duplicate key.
   * Part of the caller's transaction: it opens none of its own.
   */
  moveSource(from: string, to: string | null): void {
    if (!this.statements) return; // no table yet: nothing cached
    const s = this.writableStatements();
    if (to === null) {
      s.removeSource.run(from);
      return;
    }
    s.removeSource.run(to);
    s.renameSource.run(to, from);
  }

  private writableStatements(): NonNullable<DetailTable['statements']> {
    if (!this.writable || !this.statements) throw new Error('the vSphere detail cache is read-only in this view');
    return this.statements;
  }
}

/** A row as a detail, or null when any column is not what the source wrote. */
function toDetail(row: unknown[]): StoredDetail | null {
  const [vmId, listKey, refreshAt, cpu, memoryMiB, diskBytes, guestOs, guestFullName] = row;
  if (typeof vmId !== 'string' || vmId === '' || typeof listKey !== 'string') return null;
  if (!Number.isSafeInteger(refreshAt) || !isCount(cpu, 1) || !isCount(memoryMiB, 1) || !isCount(diskBytes, 0)) return null;
  if (!isTextOrNull(guestOs) || !isTextOrNull(guestFullName)) return null;
  return {
    listKey,
    refreshAt: refreshAt as number,
    cpu: cpu as number,
    memoryMiB: memoryMiB as number,
    diskBytes: diskBytes as number,
    guestOs: guestOs as string | null,
    guestFullName: guestFullName as string | null,
  };
}

function isCount(value: unknown, min: number): boolean {
  return Number.isSafeInteger(value) && (value as number) >= min;
}

function isTextOrNull(value: unknown): boolean {
  return value === null || typeof value === 'string';
}
