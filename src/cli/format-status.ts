// `status` output: built from the state file alone, so it works whether or not the daemon runs.
import type { Config } from '../config/schema.js';
import { endpointStatus, type DaemonStatus, type EndpointStatus } from '../engine/control.js';
import { nodesText } from '../engine/unreported.js';
import type { OutboxItem } from '../domain/types.js';
import type { StateStore } from '../store/state-store.js';

/**
 * `status --json`: `/status` without `startedAt`. That is when the running daemon started, which
 * the state file does not record; the start of each pass is in `lastPasses[].startedAt`. Plus the
 * panel ids several VMs hold (a full scan of the snapshot: too dear for a polled endpoint).
 */
export type CliStatus = Omit<DaemonStatus, 'startedAt'> & {
  readonly sharedPanelIds: ReadonlyArray<{ readonly panelId: number; readonly keys: readonly string[] }>;
};

/** The daemon's status as recorded in the state file. */
export function statusFromStore(store: StateStore, config: Config, version: string): CliStatus {
  const counts = store.outboxCounts();
  const rows = new Map(store.sourceStatuses().map((s) => [s.name, s]));
  const billingUp = store.meta('billing_up');
  const ms = (key: string): string | null => {
    const v = store.meta(key);
    return v === null ? null : new Date(Number(v)).toISOString();
  };
  const passes = store.recentPasses(10);
  return {
    version,
    passRunning: passes[0]?.result === 'running',
    lastSuccessAt: ms('last_success_at'),
    lastFullResyncAt: ms('last_full_resync_at'),
    billing: { up: billingUp === null ? null : billingUp === '1', lastError: store.meta('billing_error') },
    sources: config.sources.map((s) => {
      const r = rows.get(s.name);
      return { name: s.name, kind: s.type, up: r?.up ?? null, vms: r?.vms ?? null, lastError: r?.lastError ?? null, lastListedAt: r?.lastListedAt ? new Date(r.lastListedAt).toISOString() : null, unreported: r?.unreported ?? null, endpoint: endpointStatus(r?.endpoint) };
    }),
    outbox: { pending: counts.inFlight + counts.failed, failed: counts.failed + counts.rejected, ambiguous: counts.ambiguous, ambiguousKeys: store.ambiguousKeys(100) },
    snapshot: { vps: store.vpsCount() },
    sharedPanelIds: store.sharedPanelIds(),
    lastPasses: passes,
  };
}

/**
 * A source read through a fallback: the node at `url` failed, and the daemon asks it again only
 * every 10 minutes (FAILBACK_AFTER_MS) — so say which node to look at.
 */
export function fallbackLine(endpoint: EndpointStatus): string {
  const why = endpoint.primary ? `url ${endpoint.primary.url} failed at ${endpoint.primary.failedAt}` : 'url failed';
  return `reading from fallback ${endpoint.url} (${why}): check that node; url is tried again 10 minutes after it failed`;
}

/** Renders the status for a terminal. */
export function formatStatus(s: CliStatus, open: readonly OutboxItem[]): string {
  const out: string[] = [];
  out.push(`ospab-vps-sync ${s.version}`);
  out.push(`Last successful pass: ${s.lastSuccessAt ?? 'never'}    last full resync: ${s.lastFullResyncAt ?? 'never'}`);
  out.push(`Panel VPSes known:    ${s.snapshot.vps}`);
  for (const shared of s.sharedPanelIds) {
    out.push(`  SHARED #${shared.panelId} is held by ${shared.keys.join(' and ')}: the panel has one VPS for them, and each one's updates overwrite it`);
    out.push(`    → check VPS #${shared.panelId} on the panel (name, owner), then: ospab-vps-sync resolve <the other one> --forget (it is created anew)`);
  }
  out.push(`Billing:              ${s.billing.up === null ? 'not queried yet' : s.billing.up ? 'up' : `DOWN: ${s.billing.lastError ?? ''}`}`);
  out.push('Sources:');
  for (const src of s.sources) {
    const state = src.up === null ? 'not listed yet' : src.up ? `up, ${src.vms ?? 0} VM(s)` : `DOWN: ${src.lastError ?? ''}`;
    out.push(`  ${src.name.padEnd(16)} ${src.kind.padEnd(8)} ${state}${src.lastListedAt ? ` (at ${src.lastListedAt})` : ''}`);
    if (src.up === true && src.unreported) {
      const nodes = nodesText(Object.entries(src.unreported.nodes));
      out.push(`  ${''.padEnd(16)} ${''.padEnd(8)} ${src.unreported.vms} listed without a state on ${nodes}: offline or not reporting; their panel VPSes are left as they are`);
    }
    if (src.up === true && src.endpoint?.fallback) out.push(`  ${''.padEnd(16)} ${''.padEnd(8)} ${fallbackLine(src.endpoint)}`);
  }
  out.push(`Outbox: ${s.outbox.pending} pending retry, ${s.outbox.failed} failed, ${s.outbox.ambiguous} ambiguous`);
  for (const item of open.filter((i) => i.state === 'ambiguous')) {
    out.push(`  AMBIGUOUS ${item.kind} ${item.key} (user ${item.owner?.userId ?? '?'}, "${item.fields?.name ?? ''}"): ${item.lastError ?? ''}`);
    // Not --forget: the next pass plans the VM afresh and creates it again, a second VPS if the panel has one.
    out.push(`    → check the panel, then: ospab-vps-sync resolve ${item.key} --panel-id N (it is there) | --recreate (it is not)`);
  }
  // Only seen between a crash and the next start: recovery will turn these creates into ambiguous ones.
  for (const item of open.filter((i) => i.state === 'in_flight')) {
    out.push(`  IN FLIGHT ${item.kind} ${item.key} since ${new Date(item.updatedAt).toISOString()}: no daemon finished it (was it killed?)`);
    if (item.kind === 'create') out.push('    → the next "run" or "once" marks it ambiguous; then check the panel and resolve it');
  }
  for (const item of open.filter((i) => i.state === 'failed').slice(0, 20)) {
    out.push(`  failed ${item.kind} ${item.key} (${item.failure}, ${item.attempts} attempt(s)${item.nextAttemptAt ? `, next ${new Date(item.nextAttemptAt).toISOString()}` : ''}): ${item.lastError ?? ''}`);
  }
  out.push('Recent passes:');
  if (s.lastPasses.length === 0) out.push('  none yet');
  for (const p of s.lastPasses) {
    const drift = Object.entries(p.drift).filter(([, n]) => n > 0).map(([c, n]) => `${c}=${n}`).join(' ');
    out.push(`  #${p.id} ${p.startedAt} ${p.result.padEnd(8)}${p.full ? ' full' : ''} ${p.actions.ok}/${p.actions.planned} ok, ${p.actions.failed} failed, ${p.actions.ambiguous} ambiguous, ${p.durationSeconds ?? '-'}s${drift ? `  drift: ${drift}` : ''}`);
    for (const problem of p.problems.slice(0, 5)) out.push(`      ${problem}`);
  }
  return out.join('\n') + '\n';
}
