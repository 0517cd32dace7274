// Builders and a temporary state file for the store tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Action, PanelFields } from '../../src/domain/types.js';
import { vmKey } from '../../src/domain/types.js';
import { StateStore } from '../../src/store/state-store.js';

export function panelFields(over: Partial<PanelFields> = {}): PanelFields {
  return { user_id: 7, name: 'vm100', cpu: 2, ram: 4096, disk: 32, os: 'Ubuntu 22.04', status: 'running', hypervisor: 'proxmox', ...over };
}

function desired(source: string, externalId: string, over: Partial<PanelFields>, billingId: string | null) {
  const f = panelFields({ name: `vm${externalId}`, ...over });
  return { key: vmKey(source, externalId), source, externalId, owner: { userId: f.user_id, billingId }, fields: f };
}

export function create(externalId: string, over: Partial<PanelFields> = {}, source = 'pve1'): Action {
  return { kind: 'create', key: vmKey(source, externalId), reason: 'missing_on_panel', desired: desired(source, externalId, over, `b${externalId}`) };
}

export function update(externalId: string, panelId: number, over: Partial<PanelFields> = {}, source = 'pve1'): Action {
  return {
    kind: 'update',
    key: vmKey(source, externalId),
    panelId,
    desired: desired(source, externalId, over, `b${externalId}`),
    changed: ['status'],
    ownerConfirmed: true,
  };
}

export function remove(externalId: string, panelId: number, source = 'pve1'): Action {
  return { kind: 'delete', key: vmKey(source, externalId), panelId, reason: 'gone_from_hypervisor' };
}

/** A fresh directory with a state file path in it; `cleanup()` removes it. */
export function tempState(): { dir: string; path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'store-test-'));
  return { dir, path: join(dir, 'state.db'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Opens a writer store on `path`. */
export function openStore(path: string, readonly = false): StateStore {
  const store = new StateStore({ path, readonly });
  store.open();
  return store;
}

/** Raw SQL on the state file, beside the store (as another process would). */
export function raw<T>(path: string, fn: (db: Database.Database) => T): T {
  const db = new Database(path, { timeout: 5000 });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}
