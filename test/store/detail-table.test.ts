// The vSphere detail cache in the state file: what is saved comes back, bad rows are skipped (never
// trusted), read-only views never write, and the cache stays out of the versioned schema so an older
// build still opens the file.
import { afterEach, describe, expect, test } from 'vitest';
import type { StoredDetail } from '../../src/store/detail-table.js';
import { SCHEMA_VERSION } from '../../src/store/migrations.js';
import type { StateStore } from '../../src/store/state-store.js';
import { openStore, raw, tempState } from './helpers.js';

const TABLE = 'vsphere_detail_cache_v1';

function detail(over: Partial<StoredDetail> = {}): StoredDetail {
  return { listKey: 'web\u0000POWERED_ON\u00002\u00004096', refreshAt: 1_800_000_000_000, cpu: 2, memoryMiB: 4096, diskBytes: 32 * 1024 ** 3, guestOs: 'UBUNTU_64', guestFullName: 'Ubuntu Linux (64-bit)', ...over };
}

let cleanup: (() => void) | null = null;
const open: StateStore[] = [];
afterEach(() => {
  open.splice(0).forEach((s) => s.close());
  cleanup?.();
  cleanup = null;
});

function state(): string {
  const t = tempState();
  cleanup = t.cleanup;
  return t.path;
}

function store(path: string, readonly = false): StateStore {
  const s = openStore(path, readonly);
  open.push(s);
  return s;
}

describe('detail table', () => {
  test('saved details come back per source, after the file is reopened', () => {
    const path = state();
    const writer = store(path);
    writer.vsphereDetails.save('vc1', { upserts: new Map([['vm-1', detail()], ['vm-2', detail({ guestOs: null, guestFullName: null, diskBytes: 0 })]]), removed: [], replaceAll: false });
    writer.vsphereDetails.save('vc2', { upserts: new Map([['vm-1', detail({ cpu: 8 })]]), removed: [], replaceAll: false });
    writer.close();

    const reader = store(path);
    const vc1 = reader.vsphereDetails.load('vc1');
    expect(vc1.unreadable).toBe(0);
    expect(vc1.details).toEqual(new Map([['vm-1', detail()], ['vm-2', detail({ guestOs: null, guestFullName: null, diskBytes: 0 })]]));
    expect(reader.vsphereDetails.load('vc2').details.get('vm-1')?.cpu).toBe(8);
    expect(reader.vsphereDetails.load('vc3').details.size).toBe(0);
  });

  test('upserts replace, removals delete, a rewrite replaces the whole source and nothing else', () => {
    const table = store(state()).vsphereDetails;
    table.save('vc1', { upserts: new Map([['vm-1', detail()], ['vm-2', detail()], ['vm-3', detail()]]), removed: [], replaceAll: false });
    table.save('vc2', { upserts: new Map([['vm-9', detail()]]), removed: [], replaceAll: false });

    table.save('vc1', { upserts: new Map([['vm-1', detail({ cpu: 4, listKey: 'changed' })]]), removed: ['vm-2', 'vm-404'], replaceAll: false });
    expect([...table.load('vc1').details.keys()].sort()).toEqual(['vm-1', 'vm-3']);
    expect(table.load('vc1').details.get('vm-1')).toMatchObject({ cpu: 4, listKey: 'changed' });

    table.save('vc1', { upserts: new Map([['vm-7', detail()]]), removed: [], replaceAll: true });
    expect([...table.load('vc1').details.keys()]).toEqual(['vm-7']);
    expect([...table.load('vc2').details.keys()]).toEqual(['vm-9']);
  });

  test('sources no longer configured are dropped', () => {
    const table = store(state()).vsphereDetails;
    for (const source of ['vc1', 'vc2', 'old']) table.save(source, { upserts: new Map([['vm-1', detail()]]), removed: [], replaceAll: false });
    expect(table.retainSources(['vc1', 'vc2'])).toBe(1);
    expect(table.load('old').details.size).toBe(0);
    expect(table.load('vc2').details.size).toBe(1);
    expect(table.retainSources(['vc1', 'vc2'])).toBe(0);
  });

  // Each row breaks one rule; the good row beside them must still load.
  test.each([
    ['a whole number of CPUs below 1', `cpu = 0`],
    ['a CPU count that is text', `cpu = 'two'`],
    ['memory of 0 MiB', `memory_mib = 0`],
    ['negative disk bytes', `disk_bytes = -1`],
    ['a fractional refresh time', `refresh_at = 1.5`],
    ['a guest OS that is a blob', `guest_os = x'00'`],
    ['an empty VM id', `vm_id = ''`],
    ['a list key that is a blob', `list_key = x'00ff'`],
  ])('a row with %s is skipped and counted, the others load', (_what, corruption) => {
    const path = state();
    const writer = store(path);
    writer.vsphereDetails.save('vc1', { upserts: new Map([['vm-bad', detail()], ['vm-good', detail()]]), removed: [], replaceAll: false });
    writer.close();
    // SQLite's column affinity accepts these; the table's only constraints are NOT NULL.
    raw(path, (db) => db.exec(`UPDATE ${TABLE} SET ${corruption} WHERE vm_id = 'vm-bad'`));

    const { details, unreadable } = store(path).vsphereDetails.load('vc1');
    expect(unreadable).toBe(1);
    expect([...details.keys()]).toEqual(['vm-good']);
  });

  test('the table is outside the versioned schema: user_version stays, so an older build still opens the file', () => {
    const path = state();
    store(path).close();
    const { version, tables } = raw(path, (db) => ({
      version: db.pragma('user_version', { simple: true }) as number,
      tables: (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]).sort(),
    }));
    expect(version).toBe(SCHEMA_VERSION);
    expect(tables).toContain(TABLE);
    // Opening again (CREATE TABLE IF NOT EXISTS) keeps what is there.
    const again = store(path);
    again.vsphereDetails.save('vc1', { upserts: new Map([['vm-1', detail()]]), removed: [], replaceAll: false });
    again.close();
    expect(store(path).vsphereDetails.load('vc1').details.size).toBe(1);
  });

  test('a read-only view loads what a writer saved and refuses to write', () => {
    const path = state();
    const writer = store(path);
    writer.vsphereDetails.save('vc1', { upserts: new Map([['vm-1', detail()]]), removed: [], replaceAll: false });

    const reader = store(path, true);
    expect(reader.vsphereDetails.load('vc1').details.get('vm-1')).toEqual(detail());
    expect(() => reader.vsphereDetails.save('vc1', { upserts: new Map(), removed: ['vm-1'], replaceAll: false })).toThrow(/read-only/);
    expect(() => reader.vsphereDetails.retainSources([])).toThrow(/read-only/);
    expect(writer.vsphereDetails.load('vc1').details.size).toBe(1);
  });

  test('a read-only view of a file written before the cache existed sees an empty cache', () => {
    const path = state();
    store(path).close();
    raw(path, (db) => db.exec(`DROP TABLE ${TABLE}`));
    const reader = store(path, true);
    expect(reader.vsphereDetails.load('vc1')).toEqual({ details: new Map(), unreadable: 0 });
    // The snapshot and the rest of the store work as before.
    expect(reader.snapshot()).toEqual([]);
  });
});
