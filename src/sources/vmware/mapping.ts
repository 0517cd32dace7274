// From a validated list entry and its detail to the daemon's `VmRecord`.
import type { VmPower, VmRecord } from '../../domain/types.js';
import type { CachedDetail } from './details.js';
import type { VmSummary } from './schema.js';

const POWER: Record<VmSummary['power'], VmPower> = { POWERED_ON: 'running', POWERED_OFF: 'stopped', SUSPENDED: 'suspended' };
const GIB = 1024 ** 3;

/** Builds the record; the list entry wins for sizes it carries (it is the fresher of the two). */
export function toVmRecord(source: string, s: VmSummary, d: CachedDetail, defaultGuestOs: string | null): VmRecord {
  return {
    source,
    externalId: s.id,
    hypervisor: 'vmware',
    name: s.name,
    cpu: s.cpu ?? d.cpu,
    ramMb: s.memoryMiB ?? d.memoryMiB,
    // At least 1: the panel refuses 0 (see VmRecord), and a VM without disks is still a VPS.
    diskGb: Math.max(1, Math.ceil(d.diskBytes / GIB)),
    // Tools' full name when known; without Tools the operator's default, then vSphere's guest id.
    os: d.guestFullName ?? defaultGuestOs ?? d.guestOs ?? null,
    power: POWER[s.power],
  };
}
