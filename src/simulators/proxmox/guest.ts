// One simulated Proxmox guest and the JSON shapes Proxmox shows for it
// (`/cluster/resources` entries and `/nodes/{node}/{qemu|lxc}/{vmid}/config`).
import { z } from 'zod';

export type GuestType = 'qemu' | 'lxc';
export type GuestStatus = 'running' | 'stopped' | 'paused';

/** A guest as the simulator stores it; `ostype` only shows in the config endpoint. */
export interface SimGuest {
  vmid: number;
  type: GuestType;
  node: string;
  name: string;
  status: GuestStatus;
  template: 0 | 1;
  maxcpu: number;
  /** Bytes. */
  maxmem: number;
  /** Bytes. */
  maxdisk: number;
  uptime: number;
  lock?: string;
  tags?: string;
  pool?: string;
  hastate?: string;
  ostype?: string;
}

const GIB = 1024 ** 3;

/** What a caller may give to add or replace a guest; everything but `vmid` has a default. */
export const guestInputSchema = z.strictObject({
  vmid: z.number().int().min(1),
  type: z.enum(['qemu', 'lxc']).optional(),
  node: z.string().min(1).optional(),
  name: z.string().optional(),
  status: z.enum(['running', 'stopped', 'paused']).optional(),
  template: z.union([z.literal(0), z.literal(1)]).optional(),
  maxcpu: z.number().optional(),
  maxmem: z.number().optional(),
  maxdisk: z.number().optional(),
  uptime: z.number().optional(),
  lock: z.string().optional(),
  tags: z.string().optional(),
  pool: z.string().optional(),
  hastate: z.string().optional(),
  ostype: z.string().optional(),
});
export type GuestInput = z.infer<typeof guestInputSchema>;

/** A change to an existing guest; `null` removes an optional field (e.g. clears a lock). */
export const guestPatchSchema = guestInputSchema.omit({ vmid: true }).extend({
  lock: z.string().nullable().optional(),
  tags: z.string().nullable().optional(),
  pool: z.string().nullable().optional(),
  hastate: z.string().nullable().optional(),
  ostype: z.string().nullable().optional(),
});
export type GuestPatch = z.infer<typeof guestPatchSchema>;

/** Fills the defaults of a guest input (a small running QEMU VM on `defaultNode`). */
export function guestFromInput(input: GuestInput, defaultNode: string): SimGuest {
  const status = input.status ?? 'running';
  const guest: SimGuest = {
    vmid: input.vmid,
    type: input.type ?? 'qemu',
    node: input.node ?? defaultNode,
    name: input.name ?? `vm-${input.vmid}`,
    status,
    template: input.template ?? 0,
    maxcpu: input.maxcpu ?? 1,
    maxmem: input.maxmem ?? GIB,
    maxdisk: input.maxdisk ?? 10 * GIB,
    uptime: input.uptime ?? (status === 'running' ? 3600 : 0),
  };
  for (const key of ['lock', 'tags', 'pool', 'hastate', 'ostype'] as const) {
    const v = input[key];
    if (v !== undefined) guest[key] = v;
  }
  return guest;
}

/** Applies a patch in place; `null` deletes an optional field. */
export function applyPatch(guest: SimGuest, patch: GuestPatch): void {
  const g = guest as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (value === null) delete g[key];
    else g[key] = value;
  }
}

/** Cheap deterministic hash of a vmid, so live statistics look varied but never change between calls. */
function jitter(vmid: number, salt: number): number {
  let x = (vmid * 2654435761 + salt * 40503) >>> 0;
  x ^= x >>> 13;
  x = Math.imul(x, 0x5bd1e995) >>> 0;
  return (x >>> 0) / 4294967296;
}

/** The `/cluster/resources` entry of a guest, keys sorted like Proxmox's canonical JSON. */
export function resourceEntry(g: SimGuest): Record<string, unknown> {
  const up = g.status !== 'stopped';
  const entry: Record<string, unknown> = {
    cpu: up ? Math.round(jitter(g.vmid, 1) * 10000) / 100000 : 0,
    disk: g.type === 'lxc' ? Math.floor(g.maxdisk * jitter(g.vmid, 2) * 0.8) : 0,
    diskread: up ? Math.floor(jitter(g.vmid, 3) * 5e9) : 0,
    diskwrite: up ? Math.floor(jitter(g.vmid, 4) * 5e9) : 0,
  };
  if (g.hastate !== undefined) entry.hastate = g.hastate;
  entry.id = `${g.type}/${g.vmid}`;
  if (g.lock !== undefined) entry.lock = g.lock;
  entry.maxcpu = g.maxcpu;
  entry.maxdisk = g.maxdisk;
  entry.maxmem = g.maxmem;
  entry.mem = up ? Math.floor(g.maxmem * (0.2 + jitter(g.vmid, 5) * 0.6)) : 0;
  entry.name = g.name;
  entry.netin = up ? Math.floor(jitter(g.vmid, 6) * 1e9) : 0;
  entry.netout = up ? Math.floor(jitter(g.vmid, 7) * 1e9) : 0;
  entry.node = g.node;
  if (g.pool !== undefined) entry.pool = g.pool;
  entry.status = g.status;
  if (g.tags !== undefined) entry.tags = g.tags;
  entry.template = g.template;
  entry.type = g.type;
  entry.uptime = up ? g.uptime : 0;
  entry.vmid = g.vmid;
  return entry;
}

/**
 * The entry of a guest whose node is offline: `/cluster/resources` has no statistics for it, so
 * it says `status: "unknown"` and leaves out name, template, CPU, memory, disk and uptime; pool,
 * lock, tags and HA state still come from the cluster's configuration (PVE 8's extract_vm_stats).
 */
export function unreportedEntry(g: SimGuest): Record<string, unknown> {
  const entry: Record<string, unknown> = {};
  if (g.hastate !== undefined) entry.hastate = g.hastate;
  entry.id = `${g.type}/${g.vmid}`;
  if (g.lock !== undefined) entry.lock = g.lock;
  entry.node = g.node;
  if (g.pool !== undefined) entry.pool = g.pool;
  entry.status = 'unknown';
  if (g.tags !== undefined) entry.tags = g.tags;
  entry.type = g.type;
  entry.vmid = g.vmid;
  return entry;
}

/** A MAC in Proxmox's BC:24:11 prefix, derived from the vmid. */
function mac(vmid: number): string {
  const b = [vmid >>> 16, vmid >>> 8, vmid].map((n) => (n & 0xff).toString(16).padStart(2, '0').toUpperCase());
  return `BC:24:11:${b.join(':')}`;
}

/** A stable UUID-looking string derived from the vmid and a salt. */
function uuid(vmid: number, salt: number): string {
  const hex = (s: number) => Math.floor(jitter(vmid, s) * 0xffffffff).toString(16).padStart(8, '0');
  const h = hex(salt) + hex(salt + 1) + hex(salt + 2) + hex(salt + 3);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** `/nodes/{node}/qemu/{vmid}/config` as PVE 8 answers it (memory is a string there). */
export function qemuConfig(g: SimGuest): Record<string, unknown> {
  const diskGb = Math.max(1, Math.round(g.maxdisk / GIB));
  const cfg: Record<string, unknown> = {
    boot: 'order=scsi0;net0',
    cores: Math.max(1, Math.round(g.maxcpu)),
    cpu: 'x86-64-v2-AES',
    digest: uuid(g.vmid, 20).replace(/-/g, '') + '00000000',
    memory: String(Math.round(g.maxmem / 1048576)),
    meta: `creation-qemu=8.1.5,ctime=${1_700_000_000 + g.vmid}`,
    name: g.name,
    net0: `virtio=${mac(g.vmid)},bridge=vmbr0,firewall=1`,
    numa: 0,
    ostype: g.ostype ?? 'l26',
    scsi0: `local-lvm:vm-${g.vmid}-disk-0,iothread=1,size=${diskGb}G`,
    scsihw: 'virtio-scsi-single',
    smbios1: `uuid=${uuid(g.vmid, 10)}`,
    sockets: 1,
    vmgenid: uuid(g.vmid, 30),
  };
  if (g.tags !== undefined) cfg.tags = g.tags;
  if (g.lock !== undefined) cfg.lock = g.lock;
  if (g.template === 1) cfg.template = 1;
  return cfg;
}

/** `/nodes/{node}/lxc/{vmid}/config`; memory is MiB as a number. */
export function lxcConfig(g: SimGuest): Record<string, unknown> {
  const diskGb = Math.max(1, Math.round(g.maxdisk / GIB));
  const cfg: Record<string, unknown> = {
    arch: 'amd64',
    cores: Math.max(1, Math.round(g.maxcpu)),
    digest: uuid(g.vmid, 40).replace(/-/g, '') + '00000000',
    features: 'nesting=1',
    hostname: g.name,
    memory: Math.round(g.maxmem / 1048576),
    net0: `name=eth0,bridge=vmbr0,hwaddr=${mac(g.vmid)},ip=dhcp,type=veth`,
    ostype: g.ostype ?? 'debian',
    rootfs: `local-lvm:vm-${g.vmid}-disk-0,size=${diskGb}G`,
    swap: 512,
    unprivileged: 1,
  };
  if (g.tags !== undefined) cfg.tags = g.tags;
  if (g.lock !== undefined) cfg.lock = g.lock;
  if (g.template === 1) cfg.template = 1;
  return cfg;
}
