// The endpoint a source was last listed through, as the state file keeps it for `status`: in
// `meta` (`source_endpoint:<name>`), not in a new column, so the previous build still reads the
// file; replaced by every listing, and dropped with the source's status on rename and forget.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SourceEndpoint } from '../../src/domain/types.js';
import type { SourceStatusRow, StateStore } from '../../src/store/state-store.js';
import { openStore, raw, tempState } from './helpers.js';

const NOW = 1_700_000_000_000;
const A = 'https://pve-a.example:8006';
const B = 'https://pve-b.example:8006';

function row(over: Partial<SourceStatusRow> = {}): SourceStatusRow {
  return { name: 'pve1', kind: 'proxmox', up: true, vms: 2, lastError: null, lastListedAt: NOW, unreported: null, endpoint: null, ...over };
}

describe('the endpoint in the state file', () => {
  let state: ReturnType<typeof tempState>;
  let store: StateStore;

  beforeEach(() => {
    state = tempState();
    store = openStore(state.path);
  });
  afterEach(() => {
    store.close();
    state.cleanup();
  });

  it.each<{ name: string; endpoint: SourceEndpoint | null }>([
    { name: 'url', endpoint: { url: A, fallback: false } },
    { name: 'a fallback, with when url failed', endpoint: { url: B, fallback: true, primary: { url: A, failedAt: NOW - 5000 } } },
    { name: 'a fallback, url failure unknown', endpoint: { url: B, fallback: true } },
    { name: 'behind a reverse proxy', endpoint: { url: 'https://proxy.example/pve', fallback: false } },
    { name: 'none', endpoint: null },
  ])('round trip: $name, read back by a read-only store as `status` does', ({ endpoint }) => {
    store.recordSource(row({ endpoint }));
    expect(store.sourceStatuses()).toEqual([row({ endpoint })]);
    const reader = openStore(state.path, true);
    try {
      expect(reader.sourceStatuses()[0]!.endpoint).toEqual(endpoint);
    } finally {
      reader.close();
    }
  });

  it('each listing replaces the last one: a failed one (null) clears it', () => {
    store.recordSource(row({ endpoint: { url: B, fallback: true, primary: { url: A, failedAt: NOW } } }));
    store.recordSource(row({ up: false, vms: null, lastError: 'no endpoint could list the cluster', lastListedAt: NOW + 1, endpoint: null }));
    expect(store.sourceStatuses()[0]).toMatchObject({ up: false, endpoint: null });
    store.recordSource(row({ lastListedAt: NOW + 2, endpoint: { url: A, fallback: false } }));
    expect(store.sourceStatuses()[0]!.endpoint).toEqual({ url: A, fallback: false });
  });

  it('is kept in meta: source_status has the columns the previous build knows, and no schema version moves', () => {
    const version = raw(state.path, (db) => db.pragma('user_version', { simple: true }));
    store.recordSource(row({ endpoint: { url: B, fallback: true, primary: { url: A, failedAt: NOW } } }));
    expect(raw(state.path, (db) => db.pragma('user_version', { simple: true }))).toBe(version);
    const columns = raw(state.path, (db) => (db.pragma('table_info(source_status)') as { name: string }[]).map((c) => c.name));
    expect(columns).toEqual(['name', 'kind', 'up', 'vms', 'last_error', 'last_listed_at']);
    expect(JSON.parse(store.meta('source_endpoint:pve1')!)).toEqual({ url: B, fallback: true, primary: { url: A, failedAt: NOW } });
  });

  it.each([
    { name: 'rename', drop: (s: StateStore) => s.renameSource('pve1', 'pve-fra1') },
    { name: 'forget', drop: (s: StateStore) => s.forgetSource('pve1') },
  ])('$name drops it: a new source of the old name does not show the old one\'s fallback', ({ drop }) => {
    store.recordSource(row({ endpoint: { url: B, fallback: true, primary: { url: A, failedAt: NOW } } }));
    store.recordSource(row({ name: 'pve2', endpoint: { url: A, fallback: false } }));
    drop(store);
    expect(store.meta('source_endpoint:pve1')).toBeNull();
    expect(store.sourceStatuses().map((s) => [s.name, s.endpoint])).toEqual([['pve2', { url: A, fallback: false }]]);
    // The next pass records the source under its (new or old) name afresh.
    store.recordSource(row({ name: 'pve1' }));
    expect(store.sourceStatuses().find((s) => s.name === 'pve1')!.endpoint).toBeNull();
  });

  it.each([
    { name: 'not JSON', value: '{"url":', endpoint: null },
    { name: 'JSON null', value: 'null', endpoint: null },
    { name: 'no url', value: '{"fallback":true}', endpoint: null },
    { name: 'fallback not a boolean', value: `{"url":"${A}","fallback":"yes"}`, endpoint: null },
    { name: 'a bad primary is left out', value: `{"url":"${B}","fallback":true,"primary":{"url":"${A}","failedAt":"soon"}}`, endpoint: { url: B, fallback: true } },
    { name: 'unknown keys are left out', value: `{"url":"${A}","fallback":false,"extra":1}`, endpoint: { url: A, fallback: false } },
  ])('a hand-edited value ($name) does not fail `status`', ({ value, endpoint }) => {
    store.recordSource(row());
    store.setMeta('source_endpoint:pve1', value);
    expect(store.sourceStatuses()[0]!.endpoint).toEqual(endpoint);
  });
});
