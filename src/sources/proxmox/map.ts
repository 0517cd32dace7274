// A validated `/cluster/resources` guest entry as the daemon's `VmRecord`: bytes to MB/GB,
// Proxmox status and lock to the panel's power states.
import type { VmPower, VmRecord } from '../../domain/types.js';
import type { GuestEntry } from './schema.js';

const MIB = 1024 ** 2;
const GIB = 1024 ** 3;
/** Locks that mean "the guest is still being made"; backup/migrate/snapshot locks keep the real status. */
const CREATING_LOCKS = new Set(['create', 'clone']);

/** The normalised power state of a guest. */
export function powerOf(entry: Pick<GuestEntry, 'status' | 'lock'>): VmPower {
  if (entry.lock !== undefined && CREATING_LOCKS.has(entry.lock)) return 'creating';
  switch (entry.status) {
    case 'running':
      return 'running';
    case 'stopped':
      return 'stopped';
    case 'paused':
      return 'suspended';
  }
}

/** Maps one validated guest entry of source `source`. */
export function toVmRecord(source: string, entry: GuestEntry): VmRecord {
  return {
    source,
    externalId: String(entry.vmid),
    hypervisor: 'proxmox',
    name: entry.name,
    // LXC `maxcpu` is the cpulimit and may be fractional (1.5); the panel counts whole cores.
    cpu: Math.max(1, Math.ceil(entry.maxcpu)),
    // At least 1 of each: the panel refuses 0 (see VmRecord), and a diskless guest is still a VPS.
    ramMb: Math.max(1, Math.round(entry.maxmem / MIB)),
    diskGb: Math.max(1, Math.ceil(entry.maxdisk / GIB)),
    // The resource list has no OS; billing usually supplies it.
    os: null,
    power: powerOf(entry),
    location: entry.node,
  };
}
