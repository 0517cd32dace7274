// The Proxmox VE `VmSource`: one cluster, one request per listing (more only while failing over
// from a node that cannot answer to the next of `fallbackUrls`).
import type { ProxmoxSourceConfig } from '../../config/schema.js';
import { systemClock, type Clock, type VmSource } from '../../domain/ports.js';
import type { RejectedItem, SourceEndpoint, UnreportedVm, VmRecord } from '../../domain/types.js';
import type { Logger } from '../../util/logger.js';
import type { FetchFn } from './capture.js';
import { ProxmoxClient } from './client.js';
import { failoverMessage } from './failover.js';
import { createGuestFilter, type FilterFields } from './filter.js';
import { ListingBuilder } from './listing.js';

export { SourceError, type SourceErrorReason } from './errors.js';

export interface ProxmoxSourceDeps {
  readonly logger: Logger;
  /** undici-compatible fetch (it receives a `dispatcher`); undici's own by default. */
  readonly fetch?: FetchFn;
  readonly clock?: Clock;
}

class ProxmoxSource implements VmSource {
  readonly kind = 'proxmox' as const;
  private readonly client: ProxmoxClient;
  private readonly keep: ((g: FilterFields) => boolean) | undefined;

  constructor(
    private readonly config: ProxmoxSourceConfig,
    private readonly deps: ProxmoxSourceDeps,
  ) {
    // Both only store their arguments: no I/O until the first listing.
    // A failover is worth a warning (a node is down or failing), once: the next listings start at
    // the node that answered, so they neither fail nor warn again until that one fails too (or
    // `url`, asked again every FAILBACK_AFTER_MS, answers: worth an info line).
    this.client = new ProxmoxClient(config, deps.fetch, {
      onFailover: (event) => deps.logger.warn({ failed: event.failed, answered: event.answered }, failoverMessage(event)),
      onFailback: (event) => deps.logger.info({ url: event.url, from: event.from }, `proxmox ${event.source}: ${event.url} answers again; listed through it instead of ${event.from}`),
      clock: deps.clock ?? systemClock,
    });
    this.keep = createGuestFilter(config.include, config.exclude);
  }

  /** The configured source name (`pve1`), the first part of every VM key. */
  get name(): string {
    return this.config.name;
  }

  /**
   * One `GET /cluster/resources?type=vm`, validated, filtered and mapped; with the endpoint that
   * answered, since after a failover the listings stay with a fallback until it fails too or
   * `url`, asked again FAILBACK_AFTER_MS after it last failed, answers.
   */
  async listVms(signal: AbortSignal): Promise<{ vms: VmRecord[]; rejected: RejectedItem[]; unreported: UnreportedVm[]; endpoint?: SourceEndpoint }> {
    const clock = this.deps.clock ?? systemClock;
    const started = clock.now();
    const { vms, rejected, unreported, templates, filteredOut, entries } = await this.client.listGuests(signal, () => new ListingBuilder(this.config.name, this.keep));
    const endpoint = this.client.inUse;
    this.deps.logger.debug(
      { source: this.config.name, endpoint: endpoint?.url, entries, vms: vms.length, rejected: rejected.length, unreported: unreported.length, templates, filteredOut, ms: clock.now() - started },
      'proxmox listing done',
    );
    return { vms, rejected, unreported, ...(endpoint ? { endpoint } : {}) };
  }

  /** Closes the pooled connections (API tokens have no session to end). */
  async close(): Promise<void> {
    await this.client.close();
  }
}

/** Creates the source for one configured Proxmox cluster (no I/O until `listVms`). */
export function createProxmoxSource(config: ProxmoxSourceConfig, deps: ProxmoxSourceDeps): VmSource {
  return new ProxmoxSource(config, deps);
}
