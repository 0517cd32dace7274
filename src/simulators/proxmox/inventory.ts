// The simulated cluster's guests, with the serialized `/cluster/resources` bodies cached until
// the next change, so 100,000 guests can be served many times a second.
import { applyPatch, guestFromInput, resourceEntry, unreportedEntry, type GuestInput, type GuestPatch, type SimGuest } from './guest.js';
import { generateGuests, seedNodeNames, type SeedOptions } from './seed.js';

/** Resource types `/cluster/resources?type=` accepts (PVE 8). */
export const RESOURCE_TYPES = ['vm', 'storage', 'node', 'sdn'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

const GIB = 1024 ** 3;

/** The guests of the simulated cluster, keyed by vmid. */
export class Inventory {
  private readonly guests = new Map<number, SimGuest>();
  private nodeNames: string[] = ['pve1'];
  private readonly bodies = new Map<string, Buffer>();
  /** Nodes taken offline: their guests are listed without a state, as Proxmox does. */
  private readonly offline = new Set<string>();

  /** Adds a guest or replaces the one with the same vmid. */
  upsert(input: GuestInput): SimGuest {
    const guest = guestFromInput(input, this.nodeNames[0] ?? 'pve1');
    this.guests.set(guest.vmid, guest);
    this.changed();
    return { ...guest };
  }

  /** Changes fields of an existing guest; undefined when there is no such vmid. */
  update(vmid: number, patch: GuestPatch): SimGuest | undefined {
    const guest = this.guests.get(vmid);
    if (!guest) return undefined;
    applyPatch(guest, patch);
    this.changed();
    return { ...guest };
  }

  /** Removes a guest; false when it did not exist. */
  remove(vmid: number): boolean {
    const existed = this.guests.delete(vmid);
    if (existed) this.changed();
    return existed;
  }

  /** A copy of one guest. */
  get(vmid: number): SimGuest | undefined {
    const g = this.guests.get(vmid);
    return g ? { ...g } : undefined;
  }

  /** Copies of every guest, by vmid. */
  list(): SimGuest[] {
    return [...this.guests.values()].sort((a, b) => a.vmid - b.vmid).map((g) => ({ ...g }));
  }

  /** Number of guests (templates included). */
  get size(): number {
    return this.guests.size;
  }

  /** Removes every guest; every node is online again. */
  clear(): void {
    this.guests.clear();
    this.offline.clear();
    this.changed();
  }

  /** Takes a node offline (its guests lose their state in listings) or brings it back. */
  setNodeOnline(node: string, online: boolean): void {
    if (online) this.offline.delete(node);
    else this.offline.add(node);
    this.changed();
  }

  /** Nodes currently offline, sorted. */
  offlineNodes(): string[] {
    return [...this.offline].sort();
  }

  /** Replaces the inventory with `n` generated guests (deterministic for the same options); every node is online again. */
  seed(n: number, options: SeedOptions = {}): void {
    this.guests.clear();
    this.offline.clear();
    this.nodeNames = seedNodeNames(options.nodes);
    for (const g of generateGuests(n, options)) this.guests.set(g.vmid, g);
    this.changed();
  }

  /** Node names: the seeded ones plus any a guest was placed on. */
  nodes(): string[] {
    const names = new Set(this.nodeNames);
    for (const g of this.guests.values()) names.add(g.node);
    return [...names].sort();
  }

  /** The guests' resource entries, freshly built (for faults that alter the list). */
  guestEntries(): Record<string, unknown>[] {
    return this.sortedGuests().map((g) => this.entryOf(g));
  }

  private entryOf(g: SimGuest): Record<string, unknown> {
    return this.offline.has(g.node) ? unreportedEntry(g) : resourceEntry(g);
  }

  /** The full `{"data":[...]}` body for `/cluster/resources[?type=]`, cached until a change. */
  resourcesBody(type: ResourceType | undefined): Buffer {
    const key = type ?? 'all';
    let body = this.bodies.get(key);
    if (!body) {
      const parts: string[] = [];
      if (type === undefined || type === 'node') for (const e of this.nodeEntries()) parts.push(JSON.stringify(e));
      if (type === undefined || type === 'storage') for (const e of this.storageEntries()) parts.push(JSON.stringify(e));
      if (type === undefined || type === 'vm') for (const g of this.sortedGuests()) parts.push(JSON.stringify(this.entryOf(g)));
      body = Buffer.from(`{"data":[${parts.join(',')}]}`);
      this.bodies.set(key, body);
    }
    return body;
  }

  private sortedGuests(): SimGuest[] {
    return [...this.guests.values()].sort((a, b) => a.vmid - b.vmid);
  }

  /** Node and storage entries (what `/cluster/resources` lists besides guests). */
  infraEntries(): Record<string, unknown>[] {
    return [...this.nodeEntries(), ...this.storageEntries()];
  }

  private nodeEntries(): Record<string, unknown>[] {
    return this.nodes().map((node, i) =>
      this.offline.has(node) ? { id: `node/${node}`, level: '', maxcpu: 64, maxdisk: 100 * GIB, maxmem: 512 * GIB, node, status: 'offline', type: 'node' } : ({
      'cgroup-mode': 2,
      cpu: (5 + (i % 7)) / 100,
      disk: 12 * GIB,
      id: `node/${node}`,
      level: '',
      maxcpu: 64,
      maxdisk: 100 * GIB,
      maxmem: 512 * GIB,
      mem: 200 * GIB,
      node,
      status: 'online',
      type: 'node',
      uptime: 4_000_000 + i,
    }));
  }

  private storageEntries(): Record<string, unknown>[] {
    return this.nodes().flatMap((node) => [
      { content: 'iso,vztmpl,backup', disk: 20 * GIB, id: `storage/${node}/local`, maxdisk: 100 * GIB, node, plugintype: 'dir', shared: 0, status: 'available', storage: 'local', type: 'storage' },
      { content: 'images,rootdir', disk: 2000 * GIB, id: `storage/${node}/local-lvm`, maxdisk: 4000 * GIB, node, plugintype: 'lvmthin', shared: 0, status: 'available', storage: 'local-lvm', type: 'storage' },
      { content: 'images,rootdir', disk: 30000 * GIB, id: `storage/${node}/ceph-vm`, maxdisk: 100000 * GIB, node, plugintype: 'rbd', shared: 1, status: 'available', storage: 'ceph-vm', type: 'storage' },
    ]);
  }

  private changed(): void {
    this.bodies.clear();
  }
}
