// Lists every VM despite vCenter's cap on `GET /vcenter/vm` (4000 matches → HTTP 500).
// Try the whole scope in one call; when it is too big, list per cluster plus the standalone
// hosts; a cluster still too big is listed per host, a host per power state. Any failed slice
// fails the whole listing: a partial list would look like deleted VMs. So does a split whose parts
// hold fewer VMs than the slice vCenter refused: vCenter lists only the hosts and clusters the
// account may see, and an account without rights on them gets parts that cover nothing.
import { setMaxListeners } from 'node:events';
import type { Logger } from '../../util/logger.js';
import type { VmFilter, VsphereClient } from './client.js';
import { createLimiter } from './concurrency.js';
import { VsphereError, vsphereError } from './errors.js';
import { rawField } from './schema.js';
import type { ListScope } from './scope.js';

export interface ListingSettings {
  readonly source: string;
  readonly listLimit: number;
  /** Parallel listing calls. */
  readonly concurrency: number;
}

/** How the listing went, for logs and the benchmark. */
export interface ListingStats {
  /** `GET /vcenter/vm` calls made. */
  listCalls: number;
  /** Slices that were too big and had to be split. */
  splits: number;
}

interface Shard {
  /** `cluster "Cluster-1" (domain-c7)`, for messages. */
  readonly label: string;
  readonly filter: VmFilter;
  /** Smaller shards covering the same VMs; absent when this shard cannot be split further. */
  readonly split?: (signal: AbortSignal) => Promise<Shard[]>;
}

/** A VM listing's last split: one call per power state. */
export const POWER_STATES = ['POWERED_ON', 'POWERED_OFF', 'SUSPENDED'] as const;
/** Reasons that are about the vCenter as a whole, not one slice: kept as they are. */
const GLOBAL_REASONS = new Set(['connect', 'tls', 'auth', 'aborted', 'config']);

/** Every VM list entry in scope (raw, unvalidated), each VM id once. */
export async function listVmEntries(
  client: VsphereClient,
  scope: ListScope,
  settings: ListingSettings,
  signal: AbortSignal,
  logger: Logger,
  /** Shards found too big on the last pass (kept by the caller across passes). */
  memory: Set<string>,
): Promise<{ entries: unknown[]; stats: ListingStats }> {
  const stats: ListingStats = { listCalls: 0, splits: 0 };
  const limited = createLimiter(settings.concurrency);
  // Aborted when any slice fails, so the others stop early instead of finishing for nothing.
  const failFast = new AbortController();
  const inner = AbortSignal.any([signal, failFast.signal]);
  setMaxListeners(0, inner);
  const base = baseFilter(scope);

  const byHost = (host: { id: string; name: string }): Shard => ({
    label: `host "${host.name}" (${host.id})`,
    filter: { ...base, hosts: [host.id] },
    split: async () =>
      POWER_STATES.map((state) => ({ label: `host "${host.name}" (${host.id}) ${state}`, filter: { ...base, hosts: [host.id], power_states: [state] } })),
  });
  const byCluster = (cluster: { id: string; name: string }): Shard => ({
    label: `cluster "${cluster.name}" (${cluster.id})`,
    filter: { ...base, clusters: [cluster.id] },
    split: async (s) => (await limited(() => client.listHosts({ clusters: [cluster.id] }, s))).map(byHost),
  });
  const whole: Shard = {
    label: scope.clusters ? 'the configured clusters' : 'the whole inventory',
    filter: scope.clusters ? { ...base, clusters: scope.clusters.map((c) => c.id) } : base,
    split: async (s) => {
      if (scope.clusters) return scope.clusters.map(byCluster);
      const [clusters, standalone] = await Promise.all([
        limited(() => client.listClusters(s)),
        limited(() => client.listHosts({ standalone: true }, s)),
      ]);
      return [...clusters.map(byCluster), ...standalone.map(byHost)];
    },
  };

  const collected: unknown[][] = [];
  const tooBig = new Set<string>();
  /** One call over a shard: how many VMs it found, or null when it is too big for one call. */
  const listWhole = async (shard: Shard): Promise<number | null> => {
    stats.listCalls++;
    const result = await limited(() => client.listVms(shard.filter, inner));
    // Exactly `listLimit` answers may be a silently capped list: split that too.
    if (result.tooMany || result.entries.length >= settings.listLimit) return null;
    collected.push([...result.entries]);
    return result.entries.length;
  };
  const uncovered = (label: string, found: number, parts: number): VsphereError =>
    vsphereError(
      settings.source,
      'shard',
      `listing VMs of ${label}`,
      `vCenter refused to list it in one call (${settings.listLimit} VMs or more), but its ${parts} part${parts === 1 ? '' : 's'} (clusters, hosts, power states) hold only ${found}: the account may not see every cluster and host (grant its role on the datacenter), or VMs moved while listing; the source is unknown this pass`,
    );
  /** Lists one shard (splitting it when needed); resolves with how many entries it found. */
  const run = async (shard: Shard): Promise<number> => {
    const key = JSON.stringify(shard.filter);
    try {
      // Too big last pass: split right away rather than pay for a refused call again.
      const remembered = shard.split !== undefined && memory.has(key);
      if (!remembered) {
        const whole = await listWhole(shard);
        if (whole !== null) return whole;
      }
      if (!shard.split) {
        throw vsphereError(settings.source, 'shard', `listing VMs of ${shard.label}`, `more than ${settings.listLimit} VMs match and it cannot be split further`);
      }
      stats.splits++;
      const parts = await shard.split(inner);
      logger.debug({ shard: shard.label, parts: parts.length }, 'VM listing too big for one call; splitting');
      const found = (await settleAll(parts.map(run))).reduce((a, b) => a + b, 0);
      if (found < settings.listLimit) {
        // vCenter refused this slice whole (or did last pass), so it holds at least `listLimit`
        // VMs; parts holding fewer do not cover it. Refused this pass: the listing is incomplete.
        // Only remembered: it may have shrunk, and one call over the whole slice tells.
        const whole = remembered ? await listWhole(shard) : null;
        if (whole === null) throw uncovered(shard.label, found, parts.length);
        return whole;
      }
      // Remember it unless it shrank well below the limit (then try it whole again next pass).
      if (found >= settings.listLimit / 2) tooBig.add(key);
      return found;
    } catch (error) {
      failFast.abort();
      // The single whole-scope call is not a slice: its failure keeps its own reason.
      throw shard === whole ? error : asShardError(settings.source, shard.label, error);
    }
  };
  await run(whole);
  // Only a complete listing updates what is known about shard sizes.
  memory.clear();
  for (const key of tooBig) memory.add(key);
  return { entries: dedupe(collected), stats };
}

/** The part of a VM filter every listing of `scope` carries (folders, resource pools). */
export function baseFilter(scope: ListScope): VmFilter {
  return {
    ...(scope.folders ? { folders: scope.folders } : {}),
    ...(scope.resourcePools ? { resource_pools: scope.resourcePools } : {}),
  };
}

/** Waits for every promise, then rethrows the first real failure (not the aborts it caused). */
async function settleAll<T>(promises: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length === 0) return results.map((r) => (r as PromiseFulfilledResult<T>).value);
  throw failures.find((f) => !(f instanceof VsphereError && f.reason === 'aborted')) ?? failures[0];
}

/** A slice's failure as the whole listing's: which slice (`label`), and that the source is unknown this pass. */
export function asShardError(source: string, label: string, error: unknown): unknown {
  if (!(error instanceof VsphereError) || GLOBAL_REASONS.has(error.reason) || error.reason === 'shard') return error;
  return vsphereError(source, 'shard', `listing VMs of ${label}`, `failed, so the listing is incomplete and the source is unknown this pass (${error.message})`, {
    cause: error,
    ...(error.status !== undefined ? { status: error.status } : {}),
  });
}

/** VMs can be seen twice (a vMotion between two slices); keep the first entry of each id. */
function dedupe(parts: readonly unknown[][]): unknown[] {
  const seen = new Set<string>();
  const out: unknown[] = [];
  for (const part of parts) {
    for (const entry of part) {
      const id = rawField(entry, 'vm');
      if (typeof id === 'string') {
        if (seen.has(id)) continue;
        seen.add(id);
      }
      out.push(entry);
    }
  }
  return out;
}
