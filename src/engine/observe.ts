// Observation: every source and the billing query, in parallel, each failing on its own.
// Like node_exporter's collectors, one failure never stops the others; it only makes that
// part of the world *unknown* for this pass.
import type { BillingSource, Clock, ListOptions, VmSource } from '../domain/ports.js';
import type { BillingListing, SourceListing, UnreportedVm, VmPower } from '../domain/types.js';
import type { Logger } from '../util/logger.js';
import { errorMessage } from '../util/errors.js';
import type { PassObserver } from './observer.js';

export interface Observation {
  readonly listings: SourceListing[];
  readonly billing: BillingListing;
  /** Seconds each source took to list. */
  readonly durations: ReadonlyMap<string, number>;
}

export interface ObserveDeps {
  readonly sources: readonly VmSource[];
  readonly billing: BillingSource;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly observer: PassObserver;
  /** Scrubs secrets out of free-text errors. */
  readonly scrub: (text: string) => string;
}

/** Lists every source and queries billing concurrently. Never throws. */
export async function observe(deps: ObserveDeps, signal: AbortSignal, options: ListOptions = {}): Promise<Observation> {
  const durations = new Map<string, number>();
  const listOne = async (source: VmSource): Promise<SourceListing> => {
    const started = performance.now();
    try {
      const { vms, rejected, unreported = [] } = await source.listVms(signal, options);
      const seconds = (performance.now() - started) / 1000;
      durations.set(source.name, seconds);
      deps.observer.sourceListed(source.name, true, seconds, countByPower(vms), unreported.length);
      for (const r of rejected) deps.logger.warn({ source: source.name, where: r.where }, `rejected VM entry: ${deps.scrub(r.problem)}`);
      // One line per source, not per VM: a node that is down lists hundreds of guests this way.
      if (unreported.length > 0) {
        const nodes = unreportedByNode(unreported);
        deps.logger.warn({ source: source.name, unreported: unreported.length, nodes: Object.fromEntries(nodes) }, unreportedLine(source.name, unreported.length, nodes));
      }
      return { source: source.name, ok: true, vms, rejected, unreported };
    } catch (err) {
      const seconds = (performance.now() - started) / 1000;
      durations.set(source.name, seconds);
      deps.observer.sourceListed(source.name, false, seconds);
      const error = deps.scrub(errorMessage(err));
      deps.logger.error({ source: source.name }, `source ${source.name} is unknown this pass (nothing of it is changed or deleted): ${error}`);
      return { source: source.name, ok: false, error };
    }
  };
  const queryBilling = async (): Promise<BillingListing> => {
    const started = performance.now();
    try {
      const { records, rejected } = await deps.billing.listRecords(signal);
      deps.observer.billingQueried(true, (performance.now() - started) / 1000);
      for (const r of rejected) deps.logger.warn({ where: r.where }, `rejected billing row: ${deps.scrub(r.problem)}`);
      return { ok: true, records, rejected };
    } catch (err) {
      deps.observer.billingQueried(false, (performance.now() - started) / 1000);
      const error = deps.scrub(errorMessage(err));
      deps.logger.error(`billing is unavailable this pass (no creates, deletes or owner changes; status updates only): ${error}`);
      return { ok: false, error };
    }
  };
  const [billing, ...listings] = await Promise.all([queryBilling(), ...deps.sources.map(listOne)]);
  return { listings, billing: billing!, durations };
}

/** Unreported guests per node, most first (ties by name). */
export function unreportedByNode(unreported: readonly UnreportedVm[]): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const u of unreported) counts.set(u.node, (counts.get(u.node) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

/** What an operator reads about a source's unreported guests (logs, plan, status). */
export function unreportedLine(source: string, count: number, nodes: ReadonlyArray<readonly [string, number]>): string {
  const shown = nodes.slice(0, 5).map(([node, n]) => `${node} (${n})`).join(', ');
  const more = nodes.length > 5 ? ` and ${nodes.length - 5} more node(s)` : '';
  return `source ${source}: ${count} guest(s) listed without a state on node ${shown}${more} — the node is offline or not reporting; their panel VPSes are left as they are until it reports again`;
}

function countByPower(vms: readonly { power: VmPower }[]): Record<VmPower, number> {
  const counts: Record<VmPower, number> = { running: 0, stopped: 0, suspended: 0, creating: 0 };
  for (const vm of vms) counts[vm.power]++;
  return counts;
}
