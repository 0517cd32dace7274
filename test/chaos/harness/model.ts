// The chaos suite's model of the world: which VMs the hypervisor has, who pays for them, and
// therefore what the panel must end up showing. Every change goes to the simulators (or the
// billing database) and to the model at the same time, and is time-stamped, so properties
// about the past ("was this VPS deleted while its VM was untouched?") can be checked.
import type { World } from '../../support/world.js';

export const MIB = 1024 ** 2;
export const GIB = 1024 ** 3;
export const OS_NAMES: Readonly<Record<1 | 2, string>> = { 1: 'Ubuntu 22.04 LTS', 2: 'Debian 12' };
/** Every VM the suite makes is named like this, so a panel row tells which VM generation it stands for. */
const NAME = /^vm(\d+)-g(\d+)$/;

/** One generation of a VMID: a VMID that is reused gets a new generation (and a new name). */
export interface Vm {
  readonly vmid: number;
  readonly gen: number;
  readonly name: string;
  cpu: number;
  memMiB: number;
  diskBytes: number;
  running: boolean;
  readonly template: boolean;
}

/** The billing row (`server`) behind a VMID. */
export interface Bill {
  readonly serverId: number;
  userId: number;
  readonly osId: 1 | 2;
  suspended: boolean;
}

/** A panel row as the daemon must make it (fields only, no id). */
export interface DesiredRow {
  readonly user_id: number;
  readonly name: string;
  readonly cpu: number;
  readonly ram: number;
  readonly disk: number;
  readonly os: string;
  readonly status: 'running' | 'stopped' | 'suspended';
  readonly hypervisor: 'proxmox';
}

/**
 * A billing fault from `from` to `to` (Date.now() just after it was made and just before it was
 * undone): all of billing unreadable (`vmid` null), or one VM's billing row broken.
 */
export interface BillingFaultWindow {
  readonly what: string;
  readonly vmid: number | null;
  readonly from: number;
  readonly to: number;
  /**
   * The VM had a delete sent and never confirmed when the fault began: the daemon finishes such a
   * delete whenever billing answers, whoever owns the VM (plan.ts), so a delete of it is no news.
   */
  readonly unconfirmedDelete: boolean;
}

/** What happened to a VMID that can justify deleting a VPS of it. */
export interface KeyEvent {
  readonly at: number;
  readonly vmid: number;
  readonly what: 'removed' | 'reused' | 'owner';
}

export interface VmSpec {
  readonly user: number | null;
  readonly osId: 1 | 2;
  readonly cpu: number;
  readonly memMiB: number;
  readonly diskGiB: number;
  /** One byte more than whole GiB, so the disk must be rounded up. */
  readonly diskExtraByte: boolean;
  readonly running: boolean;
  readonly template: boolean;
}

/** Parses a row name back to its VMID and generation; null for names the suite never made. */
export function parseVmName(name: string): { vmid: number; gen: number } | null {
  const m = NAME.exec(name);
  return m ? { vmid: Number(m[1]), gen: Number(m[2]) } : null;
}

/** The model, bound to a world whose simulators it drives. */
export class Model {
  /** VMs on the hypervisor now, by VMID. */
  readonly vms = new Map<number, Vm>();
  /** VMs taken off the hypervisor that may come back unchanged (restored, migrated back). */
  readonly hidden = new Map<number, Vm>();
  /** Billing rows by VMID (at most one per VMID in this suite). */
  readonly bills = new Map<number, Bill>();
  readonly events: KeyEvent[] = [];
  /** Every name the suite gave a pushable (non-template) VM. */
  readonly pushableNames = new Set<string>();
  /** Every user that ever owned a VMID. */
  readonly ownersEver = new Map<number, Set<number>>();
  /** Billing faults, each over the time it lasted (see billing-faults.ts). */
  readonly billingFaults: BillingFaultWindow[] = [];
  private nextVmid = 100;

  constructor(private readonly world: World) {}

  private event(vmid: number, what: KeyEvent['what']): void {
    this.events.push({ at: Date.now(), vmid, what });
  }

  private noteOwner(vmid: number, userId: number): void {
    let set = this.ownersEver.get(vmid);
    if (!set) this.ownersEver.set(vmid, (set = new Set()));
    set.add(userId);
  }

  private upsert(vm: Vm): void {
    this.world.pve.inventory.upsert({
      vmid: vm.vmid,
      type: 'qemu',
      // Two nodes, so that one of them going offline (the nodeOffline op) leaves the other listed.
      node: vm.vmid % 2 === 0 ? 'pve-a' : 'pve-b',
      name: vm.name,
      status: vm.running ? 'running' : 'stopped',
      template: vm.template ? 1 : 0,
      maxcpu: vm.cpu,
      maxmem: vm.memMiB * MIB,
      maxdisk: vm.diskBytes,
    });
    this.vms.set(vm.vmid, vm);
    if (!vm.template) this.pushableNames.add(vm.name);
  }

  private bill(vmid: number, userId: number, osId: 1 | 2): void {
    const serverId = this.world.bill(vmid, userId, { osId });
    this.bills.set(vmid, { serverId, userId, osId, suspended: false });
    this.noteOwner(vmid, userId);
  }

  private newGen(vmid: number, gen: number, spec: VmSpec): Vm {
    return {
      vmid,
      gen,
      name: `vm${vmid}-g${gen}`,
      cpu: spec.cpu,
      memMiB: spec.memMiB,
      diskBytes: spec.diskGiB * GIB + (spec.diskExtraByte ? 1 : 0),
      running: spec.running,
      template: spec.template,
    };
  }

  /** Sorted VMIDs on the hypervisor (for picking by index). */
  present(): number[] {
    return [...this.vms.keys()].sort((a, b) => a - b);
  }

  private pick(index: number, from: ReadonlyMap<number, unknown> = this.vms): number | undefined {
    const ids = [...from.keys()].sort((a, b) => a - b);
    return ids.length === 0 ? undefined : ids[index % ids.length];
  }

  /** A new VM (new VMID), billed to `spec.user` unless null. */
  addVm(spec: VmSpec): string {
    return this.placeVm(this.orderVm(spec), spec);
  }

  /**
   * The first half of `addVm`: the order is paid (its billing row written, `spec.user` unless null)
   * before the VM exists, so that `placeVm` can create it while billing cannot be written.
   */
  orderVm(spec: VmSpec): number {
    const vmid = this.nextVmid++;
    if (spec.user !== null) this.bill(vmid, spec.user, spec.osId);
    return vmid;
  }

  /** The second half of `addVm`: the VM of an `orderVm` appears on the hypervisor. */
  placeVm(vmid: number, spec: VmSpec): string {
    this.upsert(this.newGen(vmid, 1, spec));
    return `add ${vmid}${spec.template ? ' (template)' : ''} ${spec.user === null ? 'unbilled' : `user ${spec.user}`}`;
  }

  /** The VM is deleted on the hypervisor; its billing row stays (billed_but_missing). */
  removeVm(index: number): string {
    const vmid = this.pick(index);
    if (vmid === undefined) return 'remove: no VM';
    this.world.pve.inventory.remove(vmid);
    this.vms.delete(vmid);
    this.event(vmid, 'removed');
    return `remove ${vmid}`;
  }

  /** The VM leaves the listing but may come back unchanged later (restore, migration back). */
  hideVm(index: number): string {
    const vmid = this.pick(index);
    if (vmid === undefined) return 'hide: no VM';
    const vm = this.vms.get(vmid)!;
    this.world.pve.inventory.remove(vmid);
    this.vms.delete(vmid);
    this.hidden.set(vmid, vm);
    this.event(vmid, 'removed');
    return `hide ${vmid}`;
  }

  /** The index `restoreVm` takes for a hidden VMID. */
  hiddenIndexOf(vmid: number): number {
    return [...this.hidden.keys()].sort((a, b) => a - b).indexOf(vmid);
  }

  /** A hidden VM comes back exactly as it was. */
  restoreVm(index: number): string {
    const vmid = this.pick(index, this.hidden);
    if (vmid === undefined) return 'restore: nothing hidden';
    const vm = this.hidden.get(vmid)!;
    this.hidden.delete(vmid);
    this.upsert(vm);
    return `restore ${vmid}`;
  }

  /**
   * The VMID is reused: the old VM and its billing row go, a new VM (new name) and a new billing
   * row come, the billing change in one transaction (as the main site would make it).
   */
  reuseVmid(index: number, spec: VmSpec & { user: number }): string {
    const vmid = this.pick(index);
    if (vmid === undefined) return 'reuse: no VM';
    const old = this.vms.get(vmid)!;
    const bill = this.bills.get(vmid);
    this.event(vmid, 'reused');
    this.world.billingSql('BEGIN');
    if (bill) this.world.billingSql(`DELETE FROM "server" WHERE "id" = ${bill.serverId}`);
    this.bill(vmid, spec.user, spec.osId);
    this.world.billingSql('COMMIT');
    this.upsert(this.newGen(vmid, old.gen + 1, spec));
    return `reuse ${vmid} as g${old.gen + 1} user ${spec.user}`;
  }

  /** Starts a stopped VM or stops a running one. */
  togglePower(index: number): string {
    const vmid = this.pick(index);
    if (vmid === undefined) return 'power: no VM';
    const vm = this.vms.get(vmid)!;
    vm.running = !vm.running;
    this.world.pve.inventory.update(vmid, { status: vm.running ? 'running' : 'stopped' });
    return `${vm.running ? 'start' : 'stop'} ${vmid}`;
  }

  /** Changes CPU, RAM and disk. */
  resize(index: number, cpu: number, memMiB: number, diskGiB: number): string {
    const vmid = this.pick(index);
    if (vmid === undefined) return 'resize: no VM';
    const vm = this.vms.get(vmid)!;
    vm.cpu = cpu;
    vm.memMiB = memMiB;
    vm.diskBytes = diskGiB * GIB;
    this.world.pve.inventory.update(vmid, { maxcpu: cpu, maxmem: memMiB * MIB, maxdisk: vm.diskBytes });
    return `resize ${vmid} to ${cpu} CPU ${memMiB} MiB ${diskGiB} GiB`;
  }

  /** Billing moves the VM to another customer, or bills an unbilled VM. */
  setOwner(index: number, userId: number, osId: 1 | 2): string {
    const vmid = this.pick(index);
    if (vmid === undefined) return 'owner: no VM';
    const bill = this.bills.get(vmid);
    this.event(vmid, 'owner');
    if (!bill) {
      this.bill(vmid, userId, osId);
      return `bill ${vmid} to user ${userId}`;
    }
    this.world.billingSql(`UPDATE "server" SET "userId" = ${userId} WHERE "id" = ${bill.serverId}`);
    bill.userId = userId;
    this.noteOwner(vmid, userId);
    return `owner of ${vmid} → user ${userId}`;
  }

  /** Suspends or unsuspends the billing row. */
  toggleSuspended(index: number): string {
    const vmid = this.pick(index);
    if (vmid === undefined) return 'suspend: no VM';
    const bill = this.bills.get(vmid);
    if (!bill) return `suspend ${vmid}: unbilled`;
    bill.suspended = !bill.suspended;
    this.world.billingSql(`UPDATE "server" SET "status" = '${bill.suspended ? 'suspended' : 'active'}' WHERE "id" = ${bill.serverId}`);
    return `${bill.suspended ? 'suspend' : 'unsuspend'} ${vmid}`;
  }

  /** Bills VMIDs that only ever appear as malformed entries (the `badEntries` fault), so accepting one would push it. */
  billBadEntryVmids(vmids: readonly number[]): void {
    for (const vmid of vmids) this.world.bill(vmid, 1);
  }

  /** What the panel must hold: one row per billed, non-template VM on the hypervisor. */
  desired(): Map<number, DesiredRow> {
    const out = new Map<number, DesiredRow>();
    for (const vm of this.vms.values()) {
      const bill = this.bills.get(vm.vmid);
      if (!bill || vm.template) continue;
      out.set(vm.vmid, {
        user_id: bill.userId,
        name: vm.name,
        cpu: vm.cpu,
        ram: vm.memMiB,
        disk: Math.ceil(vm.diskBytes / GIB),
        os: OS_NAMES[bill.osId],
        status: bill.suspended ? 'suspended' : vm.running ? 'running' : 'stopped',
        hypervisor: 'proxmox',
      });
    }
    return out;
  }
}
