// How `status` tells an operator which endpoint a source reads from: a line under the source only
// while a fallback is in use (the node at `url` failed), and `endpoint` in the JSON whenever known.
import { describe, expect, it } from 'vitest';
import { fallbackLine, formatStatus, statusFromStore, type CliStatus } from '../../src/cli/format-status.js';
import type { Config } from '../../src/config/schema.js';
import { endpointStatus, type EndpointStatus, type SourceStatus } from '../../src/engine/control.js';
import { openStore, tempState } from '../store/helpers.js';

const A = 'https://pve-a:8006';
const B = 'https://pve-b:8006';
const FAILED_AT = Date.UTC(2025, 2, 1, 10, 15);

function source(over: Partial<SourceStatus> = {}): SourceStatus {
  return { name: 'pve1', kind: 'proxmox', up: true, vms: 12, lastError: null, lastListedAt: '2025-03-01T10:16:00.000Z', unreported: null, endpoint: null, ...over };
}

function status(sources: SourceStatus[]): CliStatus {
  return {
    version: 'test',
    passRunning: false,
    lastSuccessAt: null,
    lastFullResyncAt: null,
    billing: { up: true, lastError: null },
    sources,
    outbox: { pending: 0, failed: 0, ambiguous: 0, ambiguousKeys: [] },
    snapshot: { vps: 0 },
    sharedPanelIds: [],
    lastPasses: [],
  };
}

const onFallback: EndpointStatus = { url: B, fallback: true, primary: { url: A, failedAt: '2025-03-01T10:15:00.000Z' } };

describe('status: the endpoint in use', () => {
  it.each<{ name: string; src: SourceStatus; line: string | null }>([
    {
      name: 'a fallback: says which, and since when url failed',
      src: source({ endpoint: onFallback }),
      line: `reading from fallback ${B} (url ${A} failed at 2025-03-01T10:15:00.000Z): check that node; url is tried again 10 minutes after it failed`,
    },
    {
      name: 'a fallback, url failure time unknown',
      src: source({ endpoint: { url: B, fallback: true, primary: null } }),
      line: `reading from fallback ${B} (url failed): check that node; url is tried again 10 minutes after it failed`,
    },
    { name: 'url: no line', src: source({ endpoint: { url: A, fallback: false, primary: null } }), line: null },
    { name: 'not known (vSphere, never listed): no line', src: source({ kind: 'vmware', endpoint: null }), line: null },
    { name: 'down: the DOWN line says it all', src: source({ up: false, vms: null, lastError: 'no endpoint could list the cluster', endpoint: onFallback }), line: null },
  ])('$name', ({ src, line }) => {
    const lines = formatStatus(status([src]), []).split('\n');
    const at = lines.findIndex((l) => l.startsWith(`  ${src.name}`));
    expect(at).toBeGreaterThan(-1);
    const fallbackLines = lines.filter((l) => l.includes('reading from fallback'));
    if (line === null) {
      expect(fallbackLines).toEqual([]);
    } else {
      // Right under its source, indented like the other detail lines.
      expect(lines[at + 1]).toBe(`  ${''.padEnd(16)} ${''.padEnd(8)} ${line}`);
      expect(fallbackLines).toHaveLength(1);
    }
  });

  it('under the source that uses the fallback, after its unreported line, not under the others', () => {
    const out = formatStatus(
      status([
        source({ name: 'pve1', endpoint: { url: A, fallback: false, primary: null } }),
        source({ name: 'pve2', unreported: { vms: 2, nodes: { 'pve-a': 2 } }, endpoint: onFallback }),
      ]),
      [],
    ).split('\n');
    const pve2 = out.findIndex((l) => l.startsWith('  pve2'));
    expect(out[pve2 + 1]).toMatch(/2 listed without a state on pve-a \(2\)/);
    expect(out[pve2 + 2]).toContain(fallbackLine(onFallback));
    expect(out.filter((l) => l.includes('reading from fallback'))).toHaveLength(1);
  });

  it('status --json: the endpoint of each configured source as the state file has it, null when unknown', () => {
    const state = tempState();
    const store = openStore(state.path);
    try {
      store.recordSource({ name: 'pve1', kind: 'proxmox', up: true, vms: 2, lastError: null, lastListedAt: FAILED_AT, unreported: null, endpoint: { url: B, fallback: true, primary: { url: A, failedAt: FAILED_AT } } });
      store.recordSource({ name: 'pve2', kind: 'proxmox', up: true, vms: 2, lastError: null, lastListedAt: FAILED_AT, unreported: null, endpoint: { url: A, fallback: false } });
      const config = { sources: [{ name: 'pve1', type: 'proxmox' }, { name: 'pve2', type: 'proxmox' }, { name: 'vc1', type: 'vmware' }] } as unknown as Config;
      const json = JSON.parse(JSON.stringify(statusFromStore(store, config, 'test'))) as CliStatus;
      expect(json.sources.map((s) => [s.name, s.endpoint])).toEqual([
        ['pve1', onFallback],
        ['pve2', { url: A, fallback: false, primary: null }],
        ['vc1', null],
      ]);
    } finally {
      store.close();
      state.cleanup();
    }
  });
});

describe('endpointStatus', () => {
  it.each([
    { name: 'none', stored: null, shown: null },
    { name: 'url', stored: { url: A, fallback: false }, shown: { url: A, fallback: false, primary: null } },
    { name: 'a fallback', stored: { url: B, fallback: true, primary: { url: A, failedAt: FAILED_AT } }, shown: onFallback },
    { name: 'a time no Date holds', stored: { url: B, fallback: true, primary: { url: A, failedAt: 1e20 } }, shown: { url: B, fallback: true, primary: null } },
  ])('$name', ({ stored, shown }) => {
    expect(endpointStatus(stored)).toEqual(shown);
  });
});
