// A source renamed or removed in the config: what the state file holds of it is moved or dropped
// as a whole, never left for the daemon to take every VM of the new name for new.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StateStore } from '../../src/store/state-store.js';
import { create, openStore, raw, tempState, update } from './helpers.js';

const NOW = 1_700_000_000_000;

describe('sources in the state file', () => {
  let state: ReturnType<typeof tempState>;
  let store: StateStore;

  beforeEach(() => {
    state = tempState();
    store = openStore(state.path);
    // pve1: two VPSes, one with a failed update waiting; vc1: one VPS.
    for (const [id, panelId] of [['100', 1], ['101', 2]] as const) {
      const e = store.journal(create(id), 1, NOW);
      store.resolve(e.id, { outcome: 'created', panelId }, NOW);
    }
    const u = store.journal(update('101', 2, { status: 'stopped' }), 2, NOW);
    store.resolve(u.id, { outcome: 'failed', failure: 'retryable', error: 'x', nextAttemptAt: null }, NOW);
    const v = store.journal(create('vm-7', { hypervisor: 'vmware' }, 'vc1'), 1, NOW);
    store.resolve(v.id, { outcome: 'created', panelId: 3 }, NOW);
    store.vsphereDetails.save('vc1', { replaceAll: true, removed: [], upserts: new Map([['vm-7', { listKey: 'k', refreshAt: NOW, cpu: 1, memoryMiB: 512, diskBytes: 1, guestOs: null, guestFullName: null }]]) });
    store.recordSource({ name: 'pve1', kind: 'proxmox', up: true, vms: 2, lastError: null, lastListedAt: NOW, unreported: { vms: 1, nodes: { pve3: 1 } }, endpoint: null });
  });
  afterEach(() => {
    store.close();
    state.cleanup();
  });

  it("keeps each source's unreported guests with its status until the next listing says otherwise", () => {
    expect(store.sourceStatuses()).toEqual([{ name: 'pve1', kind: 'proxmox', up: true, vms: 2, lastError: null, lastListedAt: NOW, unreported: { vms: 1, nodes: { pve3: 1 } }, endpoint: null }]);
    store.recordSource({ name: 'pve1', kind: 'proxmox', up: true, vms: 3, lastError: null, lastListedAt: NOW + 1, unreported: null, endpoint: null });
    expect(store.sourceStatuses()[0]!.unreported).toBeNull();
  });

  it('lists each source with its VPS count and hypervisor', () => {
    expect(store.sourcesInState()).toEqual([
      { source: 'pve1', vps: 2, hypervisor: 'proxmox' },
      { source: 'vc1', vps: 1, hypervisor: 'vmware' },
    ]);
  });

  it('a rename moves the VPSes, their open calls, the status and the cached details', () => {
    store.snapshot(); // cached in memory before the rename
    expect(store.renameSource('pve1', 'pve-fra1')).toBe(2);
    expect(store.renameSource('vc1', 'vc-fra1')).toBe(1);
    expect(store.snapshot().map((e) => [e.key, e.panelId]).sort()).toEqual([['pve-fra1/100', 1], ['pve-fra1/101', 2], ['vc-fra1/vm-7', 3]]);
    expect(store.openOutbox().map((i) => [i.key, i.kind, i.state])).toEqual([['pve-fra1/101', 'update', 'failed']]);
    expect(store.sourceStatuses()).toEqual([]);
    // A new source of the old name must not show the old one's unreported guests.
    expect(store.meta('source_unreported:pve1')).toBeNull();
    expect([...store.vsphereDetails.load('vc-fra1').details.keys()]).toEqual(['vm-7']);
    // The failed update is still the one a retry reuses.
    const again = store.journal(update('101', 2, { status: 'stopped' }, 'pve-fra1'), 3, NOW);
    expect(again.attempts).toBe(2);
  });

  it("a rename onto a source with cached details but no VPSes replaces that cache", () => {
    store.vsphereDetails.save('vc-new', { replaceAll: true, removed: [], upserts: new Map([['vm-7', { listKey: 'old', refreshAt: NOW, cpu: 2, memoryMiB: 1024, diskBytes: 1, guestOs: null, guestFullName: null }]]) });
    expect(store.renameSource('vc1', 'vc-new')).toBe(1);
    expect(store.vsphereDetails.load('vc-new').details.get('vm-7')).toMatchObject({ listKey: 'k', cpu: 1 });
  });

  it('a rename onto a source that already has VPSes is refused and changes nothing', () => {
    expect(() => store.renameSource('pve1', 'vc1')).toThrow(/source "vc1" already has 1 VPS\(es\) in the state file/);
    expect(store.sourcesInState().map((s) => [s.source, s.vps])).toEqual([['pve1', 2], ['vc1', 1]]);
  });

  it('forgetting a source drops its VPSes, open calls, status and details, and nothing else', () => {
    expect(store.forgetSource('pve1')).toBe(2);
    expect(store.forgetSource('vc1')).toBe(1);
    expect(store.snapshot()).toEqual([]);
    expect(store.openOutbox()).toEqual([]);
    expect(store.sourcesInState()).toEqual([]);
    expect(raw(state.path, (db) => db.prepare('SELECT COUNT(*) FROM vsphere_detail_cache_v1').pluck().get())).toBe(0);
  });
});
