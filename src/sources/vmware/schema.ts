// Schemas of what vCenter answers, after the flavour envelope is removed. Limits here are the
// "absurd value" checks: a VM outside them is rejected with the message, never passed on.
import { z } from 'zod';

const MAX_CPUS = 1024;
/** 64 TiB in MiB. */
const MAX_MEMORY_MIB = 64 * 1024 * 1024;
/** 64 TiB in bytes; a VMDK tops out at 62 TB. */
const MAX_DISK_BYTES = 64 * 1024 ** 4;

const id = z.string().min(1, 'is empty').max(100, 'is longer than 100 characters').regex(/^[^\s/?#]+$/, 'contains spaces or URL delimiters');

/** A field of a raw (unvalidated) list entry; undefined when the entry is not an object. */
export function rawField(entry: unknown, key: 'vm' | 'name'): unknown {
  return typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>)[key] : undefined;
}

/**
 * Whether a raw list entry's `vm` is an id at all, by the same rules as the schema. An entry whose
 * id fails them names no VM: `vm-1017 ` is not `vm-1017`, so taking it for that VM's id would
 * leave the real one looking missing.
 */
export function isVmId(value: unknown): value is string {
  return id.safeParse(value).success;
}
const powerState = z.enum(['POWERED_ON', 'POWERED_OFF', 'SUSPENDED'], { error: 'must be POWERED_ON, POWERED_OFF or SUSPENDED' });
const vmName = z
  .string({ error: 'must be a string' })
  .min(1, 'is empty')
  .max(255, 'is longer than 255 characters')
  // eslint-disable-next-line no-control-regex
  .regex(/^[^\u0000-\u001f\u007f]*$/, 'contains control characters');
const cpuCount = z.number().int('must be a whole number').min(1, 'must be at least 1').max(MAX_CPUS, `must be at most ${MAX_CPUS}`);
const memoryMiB = z.number().int('must be a whole number').min(1, 'must be at least 1 MiB').max(MAX_MEMORY_MIB, 'must be at most 64 TiB');

export const sessionIdSchema = z.string().min(1, 'is empty').max(1024, 'is too long');

/** `GET /vcenter/vm` entry; `cpu_count` and memory may be missing; old builds spell it `memory_size_mib`. */
export const vmSummarySchema = z.object({
  vm: id,
  name: vmName,
  power_state: powerState,
  cpu_count: cpuCount.optional(),
  memory_size_MiB: memoryMiB.optional(),
  memory_size_mib: memoryMiB.optional(),
});
export type VmSummaryWire = z.infer<typeof vmSummarySchema>;

/** A normalised list entry. */
export interface VmSummary {
  readonly id: string;
  readonly name: string;
  readonly power: 'POWERED_ON' | 'POWERED_OFF' | 'SUSPENDED';
  readonly cpu: number | null;
  readonly memoryMiB: number | null;
}

/** Normalises the spelling variants of a validated list entry. */
export function toSummary(wire: VmSummaryWire): VmSummary {
  return {
    id: wire.vm,
    name: wire.name,
    power: wire.power_state,
    cpu: wire.cpu_count ?? null,
    memoryMiB: wire.memory_size_MiB ?? wire.memory_size_mib ?? null,
  };
}

export const clusterListSchema = z.array(z.object({ cluster: id, name: z.string() }));
export const hostListSchema = z.array(z.object({ host: id, name: z.string() }));
/** Host summaries where the connection state matters: vCenter documents `connection_state` as always present. */
export const hostStateListSchema = z.array(z.object({ host: id, name: z.string(), connection_state: z.string() }));
export const folderListSchema = z.array(z.object({ folder: id, name: z.string() }));
export const poolListSchema = z.array(z.object({ resource_pool: id, name: z.string() }));
/** The VM list is checked as a list here; each entry is validated on its own so one bad VM is not fatal. */
export const vmListSchema = z.array(z.unknown());

const diskInfo = z.object({
  capacity: z.number().int('must be whole bytes').min(0, 'must not be negative').max(MAX_DISK_BYTES, 'is above 64 TiB').optional(),
});
const detailCommon = {
  name: vmName,
  power_state: powerState,
  guest_OS: z.string().optional(),
  cpu: z.object({ count: cpuCount }),
  memory: z.object({ size_MiB: memoryMiB }),
};
/** `GET /api/vcenter/vm/{vm}`: devices keyed by id. */
export const apiVmDetailSchema = z.object({ ...detailCommon, disks: z.record(z.string(), diskInfo).default({}) });
/** `GET /rest/vcenter/vm/{vm}`: devices as [{key, value}]. */
export const restVmDetailSchema = z.object({ ...detailCommon, disks: z.array(z.object({ key: z.string(), value: diskInfo })).default([]) });

/** What the source keeps from a detail, either flavour. */
export interface VmDetail {
  readonly guestOs: string | null;
  readonly cpu: number;
  readonly memoryMiB: number;
  /** Sum of disk capacities in bytes (a disk without a capacity counts as 0). */
  readonly diskBytes: number;
}

/** `GET /vcenter/vm/{vm}/guest/identity`. */
export const guestIdentitySchema = z.object({
  full_name: z.object({ default_message: z.string().max(255, 'is longer than 255 characters') }),
  ip_address: z.string().optional(),
});

/** Zod issues as one line: `memory_size_MiB: must be at most 64 TiB; name: is empty`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}
