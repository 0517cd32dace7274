// VMs on hosts vCenter has lost. vCenter keeps listing them, with the power state it saw before
// the host went quiet, so their entries look valid but say nothing about the VM now: the source
// reports them as unreported (exist, state unknown: never updated, created or deleted), as the
// Proxmox source does for the guests of an offline node. One host listing per pass finds the
// lost hosts (usually none); only for each of those are its VMs listed.
import type { VmFilter, VsphereClient } from './client.js';
import { mapLimit } from './concurrency.js';
import { vsphereError } from './errors.js';
import { asShardError, baseFilter, POWER_STATES } from './listing.js';
import { rawField } from './schema.js';
import type { ListScope } from './scope.js';

/** VM id → the name of its host, for every VM in scope on a DISCONNECTED or NOT_RESPONDING host. */
export async function vmsOnUnreachableHosts(
  client: VsphereClient,
  scope: ListScope,
  settings: { readonly source: string; readonly listLimit: number; readonly concurrency: number },
  signal: AbortSignal,
): Promise<{ hostOf: Map<string, string>; calls: number }> {
  let calls = 1;
  // Only the hosts the listing covers: a lost host elsewhere must neither cost calls nor fail it.
  const hosts = await client.listUnreachableHosts(scope.clusters?.map((c) => c.id), signal);
  const hostOf = new Map<string, string>();
  const idsOf = async (filter: VmFilter): Promise<readonly unknown[] | null> => {
    calls++;
    const result = await client.listVms(filter, signal);
    return result.tooMany || result.entries.length >= settings.listLimit ? null : result.entries;
  };
  /** A host's VMs in one call, or per power state when too many; null when even that is too many. */
  const listAll = async (filter: VmFilter): Promise<readonly unknown[] | null> => {
    const whole = await idsOf(filter);
    if (whole !== null) return whole;
    const parts = await mapLimit(POWER_STATES, settings.concurrency, (state) => idsOf({ ...filter, power_states: [state] }));
    return parts.some((p) => p === null) ? null : parts.flatMap((p) => p!);
  };
  await mapLimit(hosts, settings.concurrency, async (host) => {
    const label = `unreachable host "${host.name}" (${host.id})`;
    const filter: VmFilter = { ...baseFilter(scope), hosts: [host.id] };
    // Without the full list the lost host's VMs would be taken for reported ones: any failure fails the listing.
    const entries = await listAll(filter).catch((error: unknown) => {
      throw asShardError(settings.source, label, error);
    });
    if (entries === null) {
      throw vsphereError(
        settings.source,
        'shard',
        `listing VMs of ${label}`,
        `more than ${settings.listLimit} VMs match and it cannot be split further, so the listing is incomplete and the source is unknown this pass`,
      );
    }
    for (const entry of entries) {
      const id = rawField(entry, 'vm');
      if (typeof id === 'string') hostOf.set(id, host.name);
    }
  });
  return { hostOf, calls };
}
