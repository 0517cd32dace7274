import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { DRIFT_CLASSES, type DriftClass, type VmPower } from '../../src/domain/types.js';
import type { ListedCounts } from '../../src/engine/observer.js';
import { createSyncMetrics } from '../../src/metrics/index.js';
import { findTool, missingToolMessage } from '../ops/tools.js';

/** Parses the exposition into `name{labels} value` lines without comments. */
async function samples(m: { registry: { metrics(): Promise<string> } }): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await m.registry.metrics()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

const driftOf = (over: Partial<Record<DriftClass, number>>): Record<DriftClass, number> =>
  Object.fromEntries(DRIFT_CLASSES.map((c) => [c, over[c] ?? 0])) as Record<DriftClass, number>;

describe('createSyncMetrics', () => {
  it('exports build info, zero drift for every class and pre-initialised counters before any pass', async () => {
    const s = await samples(createSyncMetrics({ version: '1.2.3', processMetrics: false }));
    expect(s.get('vpssync_build_info{version="1.2.3"}')).toBe(1);
    for (const cls of DRIFT_CLASSES) expect(s.get(`vpssync_drift{class="${cls}"}`)).toBe(0);
    for (const r of ['success', 'partial', 'failed']) expect(s.get(`vpssync_passes_total{result="${r}"}`)).toBe(0);
    for (const a of ['create', 'update', 'delete']) {
      for (const r of ['ok', 'rejected', 'retryable', 'ambiguous']) expect(s.get(`vpssync_actions_total{action="${a}",result="${r}"}`)).toBe(0);
    }
    expect(s.get('vpssync_outbox_pending')).toBe(0);
    expect(s.get('vpssync_last_success_timestamp_seconds')).toBe(0);
    expect(s.get('vpssync_pass_duration_seconds_count')).toBe(0);
    expect(Number.isNaN(s.get('vpssync_billing_up'))).toBe(true);
  });

  it('declares sources as unknown (NaN), never as down, until their first listing', async () => {
    const m = createSyncMetrics({ version: 'x', sources: ['pve1'], processMetrics: false });
    m.declareSources(['vc1']);
    let s = await samples(m);
    expect(Number.isNaN(s.get('vpssync_source_up{source="pve1"}'))).toBe(true);
    expect(Number.isNaN(s.get('vpssync_source_up{source="vc1"}'))).toBe(true);
    m.sourceListed('pve1', false, 15);
    m.declareSources(['pve1']); // a late re-declaration must not hide the real observation
    s = await samples(m);
    expect(s.get('vpssync_source_up{source="pve1"}')).toBe(0);
  });

  it('records listings, billing, drift, actions, outbox and passes', async () => {
    const m = createSyncMetrics({ version: 'x', processMetrics: false });
    m.sourceListed('pve1', true, 0.3, listed({ running: 5, stopped: 2, suspended: 1, creating: 0 }));
    m.billingQueried(true, 0.02);
    m.drift(driftOf({ unbilled: 3, missing_on_panel: 1 }));
    m.action('create', 'ok', 0.04);
    m.action('create', 'ok', 0.06);
    m.action('delete', 'skipped', 0);
    m.action('update', 'not_found', 0.2);
    m.outboxPending(4);
    m.passFinished('success', 2.5, true, 1_700_000_000_000);
    m.passFinished('partial', 1, true, 1_700_000_060_000); // a partial pass moves neither timestamp
    let s = await samples(m);
    expect(s.get('vpssync_source_up{source="pve1"}')).toBe(1);
    expect(s.get('vpssync_source_vms{source="pve1",status="running"}')).toBe(5);
    expect(s.get('vpssync_source_vms{source="pve1",status="creating"}')).toBe(0);
    expect(s.get('vpssync_source_vms{source="pve1",status="unknown"}')).toBe(0);
    expect(s.get('vpssync_source_list_duration_seconds_count{source="pve1"}')).toBe(1);
    expect(s.get('vpssync_billing_up')).toBe(1);
    expect(s.get('vpssync_drift{class="unbilled"}')).toBe(3);
    expect(s.get('vpssync_drift{class="held_delete"}')).toBe(0);
    expect(s.get('vpssync_actions_total{action="create",result="ok"}')).toBe(2);
    expect(s.get('vpssync_actions_total{action="delete",result="skipped"}')).toBe(1);
    expect(s.get('vpssync_actions_total{action="update",result="not_found"}')).toBe(1);
    // skipped calls never reached the panel: no latency sample for them
    expect(s.get('vpssync_panel_request_duration_seconds_count{action="delete"}')).toBe(0);
    expect(s.get('vpssync_panel_request_duration_seconds_count{action="create"}')).toBe(2);
    expect(s.get('vpssync_outbox_pending')).toBe(4);
    expect(s.get('vpssync_passes_total{result="success"}')).toBe(1);
    expect(s.get('vpssync_passes_total{result="partial"}')).toBe(1);
    expect(s.get('vpssync_last_success_timestamp_seconds')).toBe(1_700_000_000);
    expect(s.get('vpssync_last_full_resync_timestamp_seconds')).toBe(1_700_000_000);

    // Guests listed without a state (a node offline) are counted apart, and the count follows each listing.
    m.sourceListed('pve1', true, 0.3, listed({ running: 3, stopped: 2, suspended: 1, creating: 0 }, { unreported: 2 }));
    expect((await samples(m)).get('vpssync_source_vms{source="pve1",status="unknown"}')).toBe(2);
    m.sourceListed('pve1', true, 0.3, listed({ running: 5, stopped: 2, suspended: 1, creating: 0 }));
    expect((await samples(m)).get('vpssync_source_vms{source="pve1",status="unknown"}')).toBe(0);

    // Listed through a fallback node: 1 while it lasts, kept through a failed listing, 0 once url answers.
    expect((await samples(m)).get('vpssync_source_fallback{source="pve1"}')).toBe(0);
    m.sourceListed('pve1', true, 0.3, listed({ running: 5, stopped: 2, suspended: 1, creating: 0 }, { fallback: true }));
    expect((await samples(m)).get('vpssync_source_fallback{source="pve1"}')).toBe(1);
    m.sourceListed('pve1', false, 15);
    expect((await samples(m)).get('vpssync_source_fallback{source="pve1"}')).toBe(1);
    m.sourceListed('pve1', true, 0.3, listed({ running: 5, stopped: 2, suspended: 1, creating: 0 }));
    expect((await samples(m)).get('vpssync_source_fallback{source="pve1"}')).toBe(0);

    // A failed listing flips up to 0 but keeps the last known counts (unknown, not empty).
    m.sourceListed('pve1', false, 15);
    m.billingQueried(false, 10);
    s = await samples(m);
    expect(s.get('vpssync_source_up{source="pve1"}')).toBe(0);
    expect(s.get('vpssync_source_vms{source="pve1",status="running"}')).toBe(5);
    expect(s.get('vpssync_billing_up')).toBe(0);
  });

  it('counts rejected input per input: 0 from the start, set by each answer, kept while an input does not answer', async () => {
    const m = createSyncMetrics({ version: 'x', sources: ['pve1', 'billing'], processMetrics: false });
    const rejected = async (): Promise<[string, number][]> => [...(await samples(m))].filter(([k]) => k.startsWith('vpssync_rejected_input{'));
    // A source may be named "billing": the input label keeps it apart from the billing query.
    expect(await rejected()).toEqual([
      ['vpssync_rejected_input{input="billing"}', 0],
      ['vpssync_rejected_input{input="source",source="pve1"}', 0],
      ['vpssync_rejected_input{input="source",source="billing"}', 0],
    ]);
    m.rejectedInput({ billing: 2, sources: { pve1: 1, billing: 0 } });
    expect(await rejected()).toEqual([
      ['vpssync_rejected_input{input="billing"}', 2],
      ['vpssync_rejected_input{input="source",source="pve1"}', 1],
      ['vpssync_rejected_input{input="source",source="billing"}', 0],
    ]);
    // Billing and pve1 did not answer (absent): their last counts stay; a source first seen here is declared.
    m.rejectedInput({ sources: { vc1: 3 } });
    m.rejectedInput({ billing: Number.NaN, sources: {} }); // never throws; an odd number reads 0
    expect(await rejected()).toEqual([
      ['vpssync_rejected_input{input="billing"}', 0],
      ['vpssync_rejected_input{input="source",source="pve1"}', 1],
      ['vpssync_rejected_input{input="source",source="billing"}', 0],
      ['vpssync_rejected_input{input="source",source="vc1"}', 3],
    ]);
    expect(Number.isNaN((await samples(m)).get('vpssync_source_up{source="vc1"}'))).toBe(true);
  });

  it('has finite buckets for slow listings and panel calls, so dashboard quantiles are not clamped', async () => {
    // A vSphere full resync fetches every VM's detail inside the listing (10,000 VMs: a minute or
    // two; a pass may take passTimeoutMs, 600 s); panel.timeoutMs may be raised above 10 s (the
    // docs tell how). Beyond the last finite bucket, histogram_quantile() answers that bucket's
    // bound: the "listing duration (p95)" panel read 60 s for a 100 s listing.
    const m = createSyncMetrics({ version: 'x', processMetrics: false });
    m.sourceListed('vc1', true, 100, listed({ running: 1, stopped: 0, suspended: 0, creating: 0 }));
    m.sourceListed('vc1', true, 500, listed({ running: 1, stopped: 0, suspended: 0, creating: 0 }));
    m.action('update', 'ok', 25);
    const s = await samples(m);
    const finiteBounds = (prefix: string): number[] =>
      [...s.keys()].filter((k) => k.startsWith(prefix)).map((k) => /le="([^"]+)"/.exec(k)![1]!).filter((le) => le !== '+Inf').map(Number);
    expect(Math.max(...finiteBounds('vpssync_source_list_duration_seconds_bucket{'))).toBeGreaterThanOrEqual(600);
    expect(s.get('vpssync_source_list_duration_seconds_bucket{le="120",source="vc1"}')).toBe(1);
    expect(Math.max(...finiteBounds('vpssync_panel_request_duration_seconds_bucket{le='))).toBeGreaterThanOrEqual(60);
    expect(s.get('vpssync_panel_request_duration_seconds_bucket{le="30",action="update"}')).toBe(1);
  });

  it('never throws into the engine on odd numbers', () => {
    const m = createSyncMetrics({ version: 'x', processMetrics: false });
    expect(() => {
      m.sourceListed('pve1', true, Number.NaN, listed({ running: Number.NaN, stopped: 0, suspended: 0, creating: 0 }, { unreported: Number.NaN }));
      m.outboxPending(Number.POSITIVE_INFINITY);
      m.passFinished('failed', Number.NaN, false, Date.now());
    }).not.toThrow();
  });

  it('keeps each instance separate (no global registry)', async () => {
    const a = createSyncMetrics({ version: 'a' });
    const b = createSyncMetrics({ version: 'b' });
    a.outboxPending(7);
    expect((await samples(b)).get('vpssync_outbox_pending')).toBe(0);
    expect((await b.registry.metrics())).toContain('process_cpu_user_seconds_total');
  });

  it('has no per-VM labels: label names are from a small fixed set', async () => {
    const m = createSyncMetrics({ version: 'x', sources: ['pve1'], processMetrics: false });
    const labels = new Set((await m.registry.getMetricsAsJSON()).flatMap((mm) => mm.values.flatMap((v) => Object.keys(v.labels))));
    expect([...labels].sort()).toEqual(['action', 'class', 'input', 'le', 'result', 'source', 'status', 'version'].filter((l) => labels.has(l)).sort());
    for (const l of labels) expect(['action', 'class', 'input', 'le', 'result', 'source', 'status', 'version']).toContain(l);
  });

  const promtool = findTool('promtool');
  it.skipIf(!promtool)('passes `promtool check metrics` (process metrics included)', async () => {
    const m = createSyncMetrics({ version: '0.1.0', sources: ['pve1', 'vc1'] });
    m.sourceListed('pve1', true, 0.3, listed({ running: 5, stopped: 2, suspended: 1, creating: 0 }, { fallback: true }));
    m.sourceListed('vc1', false, 15);
    m.billingQueried(true, 0.1);
    m.rejectedInput({ billing: 1, sources: { pve1: 2 } });
    m.drift(driftOf({ unbilled: 1 }));
    m.action('create', 'ok', 0.04);
    m.passFinished('success', 2, true, Date.now());
    const text = await m.registry.metrics();
    const r = spawnSync(promtool!, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.status).toBe(0);
  });
  if (!promtool) it.skip(missingToolMessage('promtool', 'prometheus'), () => {});
});

/** A successful listing's counts, nothing unreported and no fallback unless given. */
function listed(vmsByPower: Record<VmPower, number>, more: Partial<Pick<ListedCounts, 'unreported' | 'fallback'>> = {}): ListedCounts {
  return { vmsByPower, unreported: more.unreported ?? 0, fallback: more.fallback ?? false };
}
