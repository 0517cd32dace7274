// Deterministic generation of a realistic cluster inventory: the same (n, nodes, seed) always
// gives the same guests, so a benchmark or a test can be reproduced exactly.
import type { SimGuest } from './guest.js';
import { seededRandom } from '../rng.js';

export interface SeedOptions {
  /** Node count (named pve1..pveK) or explicit node names. Default 3. */
  readonly nodes?: number | readonly string[];
  /** PRNG seed. Default 1. */
  readonly seed?: number;
  /** First vmid. Default 100 (the lowest Proxmox allows). */
  readonly startVmid?: number;
}

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
const CPU = [1, 1, 2, 2, 2, 4, 4, 8, 16];
const MEM_MIB = [512, 1024, 2048, 2048, 4096, 4096, 8192, 16384, 32768];
const DISK_GIB = [8, 10, 20, 32, 32, 50, 100, 200, 500];
const TAGS = ['prod', 'staging', 'web', 'db', 'customer', 'backup-daily', 'k8s'];
const POOLS = ['customers', 'internal', 'reseller-a'];
const LOCKS = ['backup', 'create', 'clone', 'migrate', 'snapshot'];
const QEMU_OS = ['l26', 'l26', 'l26', 'win11', 'win10', 'other'];
const LXC_OS = ['debian', 'ubuntu', 'alpine', 'centos'];
const PREFIXES = ['vps', 'web', 'db', 'mail', 'app', 'ci', 'vpn', 'game'];


/** Node names for a seed option. */
export function seedNodeNames(nodes: SeedOptions['nodes']): string[] {
  if (Array.isArray(nodes)) return [...nodes];
  const k = typeof nodes === 'number' ? nodes : 3;
  return Array.from({ length: Math.max(1, k) }, (_, i) => `pve${i + 1}`);
}

/** Generates `n` guests: ~70% QEMU, ~2% templates, some paused/locked/tagged/pooled. */
export function generateGuests(n: number, options: SeedOptions = {}): SimGuest[] {
  const rnd = seededRandom(options.seed ?? 1);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)] as T;
  const nodes = seedNodeNames(options.nodes);
  const out: SimGuest[] = [];
  let vmid = options.startVmid ?? 100;
  for (let i = 0; i < n; i++) {
    // Real clusters have gaps where guests were deleted.
    vmid += rnd() < 0.1 ? 2 : 1;
    const type = rnd() < 0.7 ? 'qemu' : 'lxc';
    const template = rnd() < 0.02 ? 1 : 0;
    const r = rnd();
    const status = template ? 'stopped' : r < 0.8 ? 'running' : r < 0.97 || type === 'lxc' ? 'stopped' : 'paused';
    const g: SimGuest = {
      vmid,
      type,
      node: pick(nodes),
      name: template ? `tpl-${pick(type === 'qemu' ? QEMU_OS : LXC_OS)}-${vmid}` : `${pick(PREFIXES)}-${vmid}.example.net`,
      status,
      template,
      maxcpu: pick(CPU),
      maxmem: pick(MEM_MIB) * MIB,
      maxdisk: pick(DISK_GIB) * GIB,
      uptime: status === 'stopped' ? 0 : 60 + Math.floor(rnd() * 90 * 86400),
      ostype: pick(type === 'qemu' ? QEMU_OS : LXC_OS),
    };
    if (rnd() < 0.01) g.lock = pick(LOCKS);
    if (rnd() < 0.4) g.tags = [...new Set([pick(TAGS), pick(TAGS)])].sort().join(';');
    if (rnd() < 0.3) g.pool = pick(POOLS);
    if (rnd() < 0.05) g.hastate = status === 'running' ? 'started' : 'stopped';
    out.push(g);
  }
  return out;
}
