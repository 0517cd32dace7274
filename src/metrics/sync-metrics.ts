// The daemon's Prometheus metrics: one Registry per instance (never prom-client's global one),
// fed by the engine through the PassObserver seam so prom-client stays out of the engine.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DRIFT_CLASSES, type ActionKind, type DriftClass } from '../domain/types.js';
import type { ActionResult, ListedCounts, PassObserver, PassResult, RejectedInputCounts } from '../engine/observer.js';
import { ACTION_KINDS, ACTION_RESULTS, PASS_RESULTS, VM_POWERS } from './labels.js';

export interface SyncMetricsOptions {
  readonly version: string;
  /** Configured source names, so their series exist from the first scrape (see `declareSources`). */
  readonly sources?: readonly string[];
  /** Adds prom-client's process/Node.js metrics (default true; tests of exact output may turn it off). */
  readonly processMetrics?: boolean;
}

/** The metrics object: a PassObserver plus the registry the HTTP layer serves. */
export interface SyncMetrics extends PassObserver {
  readonly registry: Registry;
  /** Makes a source known before its first listing: its `vpssync_source_up` reads NaN (unknown) until then. */
  declareSources(names: readonly string[]): void;
}

// Buckets reach the longest a measurement can take, or histogram_quantile() clamps the dashboards'
// p95 to the last finite bound: a listing may run as long as the pass (passTimeoutMs, 600 s by
// default; a vSphere full resync fetches every VM's detail inside it, minutes at 10,000 VMs), a
// panel call as long as panel.timeoutMs (10 s by default, raised to 30 s or more on slow panels).
const LIST_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300, 600];
const PANEL_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const PASS_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** Creates the daemon's metrics in a fresh registry, every fixed series pre-initialised. */
export function createSyncMetrics(options: SyncMetricsOptions): SyncMetrics {
  const registry = new Registry();
  const m = defineMetrics(registry);
  m.buildInfo.set({ version: options.version }, 1);
  for (const cls of DRIFT_CLASSES) m.drift.set({ class: cls }, 0);
  for (const action of ACTION_KINDS) {
    for (const result of ACTION_RESULTS) m.actions.inc({ action, result }, 0);
  }
  for (const result of PASS_RESULTS) m.passes.inc({ result }, 0);
  for (const action of ACTION_KINDS) m.panelDuration.zero({ action });
  // One child per label set, looked up once: the initial sync reports 100,000 actions, and
  // prom-client hashes a label object on every inc/observe.
  const actionCounters = new Map(ACTION_KINDS.map((action) => [action, new Map(ACTION_RESULTS.map((result) => [result, m.actions.labels({ action, result })]))]));
  const panelDurations = new Map(ACTION_KINDS.map((action) => [action, m.panelDuration.labels({ action })]));
  // Unknown until the first query: NaN compares false with 0, so "down" alerts stay quiet.
  m.billingUp.set(Number.NaN);
  // 0 until a query or listing rejects something (or a restarted daemon restores its last counts).
  m.rejectedInput.set({ input: 'billing' }, 0);
  if (options.processMetrics ?? true) addProcessMetrics(registry);

  const declareSources = (names: readonly string[]): void => {
    for (const source of names) {
      // Only create a series for a source not yet seen: never overwrite a real observation.
      if (!m.knownSources.has(source)) {
        m.knownSources.add(source);
        m.sourceUp.set({ source }, Number.NaN);
        m.listDuration.zero({ source });
        m.rejectedInput.set({ input: 'source', source }, 0);
      }
    }
  };
  declareSources(options.sources ?? []);

  return {
    registry,
    declareSources,
    sourceListed(source: string, ok: boolean, durationSeconds: number, listed?: ListedCounts): void {
      if (!m.knownSources.has(source)) declareSources([source]);
      m.sourceUp.set({ source }, ok ? 1 : 0);
      m.listDuration.observe({ source }, safe(durationSeconds));
      // A failed listing leaves the last known counts: the source is unknown, not empty.
      if (ok && listed) {
        for (const status of VM_POWERS) m.sourceVms.set({ source, status }, safe(listed.vmsByPower[status] ?? 0));
        // Listed without a state (a node or host offline): VpsSyncGuestsUnreported watches this one.
        m.sourceVms.set({ source, status: 'unknown' }, safe(listed.unreported));
        m.sourceFallback.set({ source }, listed.fallback ? 1 : 0);
      }
    },
    billingQueried(ok: boolean): void {
      m.billingUp.set(ok ? 1 : 0);
    },
    rejectedInput(counts: RejectedInputCounts): void {
      if (counts.billing !== undefined) m.rejectedInput.set({ input: 'billing' }, safe(counts.billing));
      for (const [source, count] of Object.entries(counts.sources)) {
        if (!m.knownSources.has(source)) declareSources([source]);
        m.rejectedInput.set({ input: 'source', source }, safe(count));
      }
    },
    drift(counts: Readonly<Record<DriftClass, number>>): void {
      for (const cls of DRIFT_CLASSES) m.drift.set({ class: cls }, safe(counts[cls] ?? 0));
    },
    action(kind: ActionKind, result: ActionResult, durationSeconds: number): void {
      actionCounters.get(kind)!.get(result)!.inc();
      // A skipped action never reached the panel, so it has no request latency.
      if (result !== 'skipped') panelDurations.get(kind)!.observe(safe(durationSeconds));
    },
    outboxPending(count: number): void {
      m.outboxPending.set(safe(count));
    },
    successTimes(lastSuccessAtMs: number | null, lastFullResyncAtMs: number | null): void {
      if (lastSuccessAtMs !== null) m.lastSuccess.set(safe(lastSuccessAtMs / 1000));
      if (lastFullResyncAtMs !== null) m.lastFullResync.set(safe(lastFullResyncAtMs / 1000));
    },
    passFinished(result: PassResult, durationSeconds: number, full: boolean, finishedAtMs: number): void {
      m.passes.inc({ result });
      m.passDuration.observe(safe(durationSeconds));
      // Only a fully successful pass counts, as for the daemon's /readyz and /status timestamps.
      if (result === 'success') {
        m.lastSuccess.set(finishedAtMs / 1000);
        if (full) m.lastFullResync.set(finishedAtMs / 1000);
      }
    },
  };
}

// prom-client's gauges `nodejs_active_{handles,requests,resources}_total` break Prometheus' naming
// rule (only counters end in _total) and fail `promtool check metrics`; the per-type gauges
// without the suffix carry the same information (sum them), so the three are dropped.
const MISNAMED_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

function addProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED_DEFAULT_METRICS) registry.removeSingleMetric(name);
}

function defineMetrics(registry: Registry) {
  const registers = [registry];
  return {
    knownSources: new Set<string>(),
    buildInfo: new Gauge({ name: 'vpssync_build_info', help: 'Always 1; the version label says which build runs.', labelNames: ['version'], registers }),
    sourceUp: new Gauge({ name: 'vpssync_source_up', help: '1 if the last listing of the source succeeded, 0 if it failed, NaN before the first listing.', labelNames: ['source'], registers }),
    sourceVms: new Gauge({ name: 'vpssync_source_vms', help: 'VMs seen in the last successful listing of the source, by status; "unknown": listed without a state (node or host offline or not reporting), left as they are on the panel.', labelNames: ['source', 'status'], registers }),
    sourceFallback: new Gauge({ name: 'vpssync_source_fallback', help: '1 if the last successful listing of the source came through one of its fallbackUrls (the node at its url is not answering), else 0.', labelNames: ['source'], registers }),
    listDuration: new Histogram({ name: 'vpssync_source_list_duration_seconds', help: 'Time taken to list the VMs of a source, failed listings included.', labelNames: ['source'], buckets: LIST_BUCKETS, registers }),
    billingUp: new Gauge({ name: 'vpssync_billing_up', help: '1 if the last billing query succeeded, 0 if it failed, NaN before the first query.', registers }),
    // `input` and not the source name alone: a source may be named "billing".
    rejectedInput: new Gauge({
      name: 'vpssync_rejected_input',
      help: 'Items that failed validation and were skipped in the last successful billing query (input="billing": rows) or listing of a source (input="source": VM entries); their VMs are left as they are.',
      labelNames: ['input', 'source'],
      registers,
    }),
    drift: new Gauge({ name: 'vpssync_drift', help: 'Drift items found by the last planned pass, by class.', labelNames: ['class'], registers }),
    actions: new Counter({ name: 'vpssync_actions_total', help: 'Panel actions finished, by kind and result.', labelNames: ['action', 'result'], registers }),
    panelDuration: new Histogram({ name: 'vpssync_panel_request_duration_seconds', help: 'Latency of panel API calls, by action.', labelNames: ['action'], buckets: PANEL_BUCKETS, registers }),
    outboxPending: new Gauge({ name: 'vpssync_outbox_pending', help: 'Outbox items not yet done (pending, in flight or waiting for a retry) after the last pass.', registers }),
    passDuration: new Histogram({ name: 'vpssync_pass_duration_seconds', help: 'Duration of reconciliation passes.', buckets: PASS_BUCKETS, registers }),
    passes: new Counter({ name: 'vpssync_passes_total', help: 'Reconciliation passes finished, by result.', labelNames: ['result'], registers }),
    lastSuccess: new Gauge({ name: 'vpssync_last_success_timestamp_seconds', help: 'Unix time at which the last fully successful pass ended, as recorded in the state file (0: never).', registers }),
    lastFullResync: new Gauge({ name: 'vpssync_last_full_resync_timestamp_seconds', help: 'Unix time at which the last successful full resync ended, as recorded in the state file (0: never).', registers }),
  };
}

// prom-client throws on non-numbers; an observer must never throw into the engine.
function safe(value: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}
