// Observation: every source and the billing query, in parallel, each failing on its own.
// Like node_exporter's collectors, one failure never stops the others; it only makes that
// part of the world *unknown* for this pass.
import type { BillingSource, Clock, ListOptions, VmSource } from '../domain/ports.js';
import type { BillingListing, SourceEndpoint, SourceListing, VmPower } from '../domain/types.js';
import type { Logger } from '../util/logger.js';
import { errorMessage } from '../util/errors.js';
import type { PassObserver } from './observer.js';
import { unreportedByNode, unreportedLine } from './unreported.js';

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
      const { vms, rejected, unreported = [], endpoint } = await source.listVms(signal, options);
      const seconds = (performance.now() - started) / 1000;
      durations.set(source.name, seconds);
      deps.observer.sourceListed(source.name, true, seconds, { vmsByPower: countByPower(vms), unreported: unreported.length, fallback: endpoint?.fallback ?? false });
      for (const r of rejected) deps.logger.warn({ source: source.name, where: r.where }, `rejected VM entry: ${deps.scrub(r.problem)}`);
      // One line per source, not per VM: a node that is down lists hundreds of guests this way.
      if (unreported.length > 0) {
        const nodes = unreportedByNode(unreported);
        deps.logger.warn({ source: source.name, unreported: unreported.length, nodes: Object.fromEntries(nodes) }, unreportedLine(source.name, unreported.length, nodes));
      }
      return { source: source.name, ok: true, vms, rejected, unreported, ...(endpoint ? { endpoint: scrubbed(endpoint, deps.scrub) } : {}) };
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

/**
 * The endpoint with its URLs scrubbed too: they come from the config, which keeps secrets in
 * other keys, but they reach `status` — belt and braces, as for every other text that does.
 */
function scrubbed(endpoint: SourceEndpoint, scrub: (text: string) => string): SourceEndpoint {
  const { primary } = endpoint;
  return { url: scrub(endpoint.url), fallback: endpoint.fallback, ...(primary ? { primary: { url: scrub(primary.url), failedAt: primary.failedAt } } : {}) };
}

function countByPower(vms: readonly { power: VmPower }[]): Record<VmPower, number> {
  const counts: Record<VmPower, number> = { running: 0, stopped: 0, suspended: 0, creating: 0 };
  for (const vm of vms) counts[vm.power]++;
  return counts;
}
