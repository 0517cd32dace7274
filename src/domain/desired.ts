// desired(): joins what the hypervisors run with what billing says, VM by VM.
// Pure: everything it needs is passed in, so every rule here is a table-driven test.
import { panelFieldsFor } from './mapping.js';
import {
  vmKey,
  type BillingListing,
  type BillingRecord,
  type DesiredVps,
  type DriftItem,
  type HypervisorKind,
  type SourceListing,
  type VmKey,
  type VmRecord,
} from './types.js';

/** Who owns a listed VM, as far as this pass can tell (the owner itself is `desired.owner`). */
export type Ownership =
  | { readonly kind: 'owned' }
  /** Billing answered and no row claims the VM. */
  | { readonly kind: 'unbilled' }
  /** Billing is down, or the VM's row is ambiguous or was rejected: no decision about ownership. */
  | { readonly kind: 'unknown'; readonly why: string };

/** One VM of a source that listed successfully, with its owner and (when owned) the VPS it should be. */
export interface ObservedVm {
  readonly key: VmKey;
  readonly vm: VmRecord;
  readonly ownership: Ownership;
  /** The billing row that owns it: present exactly when `ownership.kind === 'owned'`. */
  readonly record: BillingRecord | null;
  /** Present exactly when `ownership.kind === 'owned'`. */
  readonly desired: DesiredVps | null;
}

/**
 * An observed VM whose key and desired VPS are built when first read. In a steady pass plan()
 * finds most VMs unchanged by comparing the snapshot with the VM and its billing row directly
 * (showsSame) and never reads either, so at 100,000 VMs this saves building 100,000 key strings
 * and VPS views (~25 MiB) only to find each VPS equal to what the panel already has.
 */
class LazyObservedVm implements ObservedVm {
  private keyText: VmKey | undefined = undefined;
  private built: DesiredVps | null | undefined = undefined;

  constructor(
    readonly vm: VmRecord,
    readonly ownership: Ownership,
    readonly record: BillingRecord | null,
  ) {}

  get key(): VmKey {
    return (this.keyText ??= vmKey(this.vm.source, this.vm.externalId));
  }

  get desired(): DesiredVps | null {
    if (this.built === undefined) this.built = this.record === null ? null : desiredVps(this.key, this.vm, this.record);
    return this.built;
  }
}

function desiredVps(key: VmKey, vm: VmRecord, record: BillingRecord): DesiredVps {
  return { key, source: vm.source, externalId: vm.externalId, owner: { userId: record.userId, billingId: record.billingId }, fields: panelFieldsFor(vm, record) };
}

export interface DesiredState {
  /** Every VM of every source that listed successfully. */
  readonly observed: readonly ObservedVm[];
  /** Position in `observed` of a source's VM (built by desired(); plan() builds one when absent). */
  readonly find?: (source: string, externalId: string) => number | undefined;
  /** Sources whose listing failed: unknown this pass, never empty. */
  readonly unknownSources: ReadonlySet<string>;
  /** Sources that listed successfully; only their VMs can be missing. */
  readonly listedSources: ReadonlySet<string>;
  /** VMs whose listing entry was rejected or carried no state: they exist but are unknown this pass (never missing). */
  readonly unknownVms: ReadonlySet<VmKey>;
  /**
   * Sources whose listing had an entry that names no VM at all (no readable id): any of their VMs
   * absent from the listing may be that entry, so none of them is missing this pass, and a billing
   * row without source may be about it, so that row gives no other source's VM an owner.
   */
  readonly unreadableSources: ReadonlySet<string>;
  readonly billingUp: boolean;
  /** `unbilled`, `billed_but_missing`, `suspended_but_running`, `ambiguous_billing`. */
  readonly drift: readonly DriftItem[];
}

export interface DesiredInput {
  readonly listings: readonly SourceListing[];
  /** Every configured source with its kind, including the failed ones. */
  readonly sources: ReadonlyArray<{ readonly name: string; readonly kind: HypervisorKind }>;
  readonly billing: BillingListing;
}

/** The id spelling each hypervisor uses, so a row without `source` only matches sources that could hold it. */
function kindOfId(vmId: string): HypervisorKind | null {
  if (/^[1-9][0-9]*$/.test(vmId)) return 'proxmox';
  if (/^vm-[0-9]+$/.test(vmId)) return 'vmware';
  return null;
}

// Shared: a steady pass over 100,000 VMs should not allocate an object per VM to say "owned".
const OWNED: Ownership = { kind: 'owned' };
const UNBILLED: Ownership = { kind: 'unbilled' };

/** Computes the desired panel state of every listed VM, and the billing-side drift. */
export function desired(input: DesiredInput): DesiredState {
  // At hosting scale (100,000 VMs) this runs every pass, so VMs are numbered once and every
  // later step works with those numbers: no key string is built or hashed per billing row.
  const unknownSources = new Set<string>();
  const unknownVms = new Set<VmKey>();
  const unreadableSources = new Set<string>();
  // external id → the sources whose listing had an entry with that id that could not be read or
  // carried no state (rare).
  const rejectedOn = new Map<string, string[]>();
  // Sized once for every listed VM (duplicates make it shorter): no copies while they are added.
  let listed = 0;
  for (const listing of input.listings) if (listing.ok) listed += listing.vms.length;
  const vms = new Array<VmRecord>(listed);
  let count = 0;
  // external id → the VM listing it, or every such VM when several sources did (rare: no array per VM).
  // The only index: a VM is found by its id, then its source checked, so no map keyed by VmKey is
  // built (two map operations on a new key string per VM were a quarter of this function's time).
  const byId = new Map<string, number | number[]>();
  const among = (held: number | number[], source: string): number | undefined => {
    if (typeof held === 'number') return vms[held]!.source === source ? held : undefined;
    return held.find((i) => vms[i]!.source === source);
  };
  const find = (source: string, externalId: string): number | undefined => {
    const held = byId.get(externalId);
    return held === undefined ? undefined : among(held, source);
  };
  for (const listing of input.listings) {
    if (!listing.ok) {
      unknownSources.add(listing.source);
      continue;
    }
    // A rejected entry that names its VM, and a guest listed without its state: the VM exists,
    // but nothing about it is known this pass.
    const unknownHere = (vmId: string): void => {
      unknownVms.add(vmKey(listing.source, vmId));
      const on = rejectedOn.get(vmId);
      if (on) on.push(listing.source);
      else rejectedOn.set(vmId, [listing.source]);
    };
    for (const bad of listing.rejected) {
      if (bad.vmId === undefined) {
        if (bad.namesNoVm) unreadableSources.add(listing.source);
        continue;
      }
      unknownHere(bad.vmId);
    }
    if (listing.unreported) for (const u of listing.unreported) unknownHere(u.vmId);
    for (const vm of listing.vms) {
      const held = byId.get(vm.externalId);
      const seen = held === undefined ? undefined : among(held, vm.source);
      const i = seen ?? count;
      if (seen === undefined) {
        vms[count++] = vm;
      } else {
        vms[seen] = vm; // a later entry for the same key replaces the earlier one, in its place
      }
      if (held === undefined) byId.set(vm.externalId, i);
      else if (typeof held === 'number') byId.set(vm.externalId, [held, i]);
      else held.push(i);
    }
  }
  vms.length = count;
  // A VM's key is built only where it is shown (drift); ObservedVm builds its own when read.
  const keyOf = (i: number): VmKey => vmKey(vms[i]!.source, vms[i]!.externalId);
  const listedSources = new Set(input.listings.filter((l) => l.ok).map((l) => l.source));
  for (const s of input.sources) if (!listedSources.has(s.name)) unknownSources.add(s.name);
  // Whether a source that is down could hold an id of this kind; decided once per kind, not per row.
  const downCouldHold = (kind: HypervisorKind | null): boolean => input.sources.some((s) => unknownSources.has(s.name) && (kind === null || s.kind === kind));
  const down = { proxmox: downCouldHold('proxmox'), vmware: downCouldHold('vmware'), unknownKind: downCouldHold(null) };
  const isUndecidable = (kind: HypervisorKind | null): boolean => (kind === null ? down.unknownKind : down[kind]);
  // Whether a listing other than `except`'s, of a kind that could hold an id of this kind, had an
  // entry naming no VM: that entry may be this id's VM, exactly as on a source that is down.
  const kindOfSource = new Map(input.sources.map((s) => [s.name, s.kind]));
  const unreadableCouldHold = (kind: HypervisorKind | null, except: string | null): boolean => {
    if (unreadableSources.size === 0) return false; // the usual pass: no cost per row
    for (const source of unreadableSources) {
      const sourceKind = kindOfSource.get(source);
      if (source !== except && (kind === null || sourceKind === undefined || sourceKind === kind)) return true;
    }
    return false;
  };

  const drift: DriftItem[] = [];
  // Per VM: the billing row that owns it, or why its owner is unknown (neither: unbilled). Two
  // plain arrays rather than an ownership object per VM.
  const owners = new Array<BillingRecord | undefined>(vms.length);
  const undecided = new Array<string | undefined>(vms.length);

  /** The VMs a row without `source` may be about: every listed VM with that id. */
  const holdersOf = (vmId: string): readonly number[] => {
    const held = byId.get(vmId);
    return held === undefined ? [] : typeof held === 'number' ? [held] : held;
  };

  const claim = (i: number, record: BillingRecord): void => {
    if (undecided[i] !== undefined) return; // a rejected or ambiguous row already made it undecidable
    const current = owners[i];
    if (current !== undefined) {
      // Two rows for one VM (one with source, one without): billing contradicts itself.
      undecided[i] = 'several billing rows claim this VM';
      drift.push({
        class: 'ambiguous_billing',
        key: keyOf(i),
        billingId: record.billingId,
        userId: record.userId,
        detail: `${keyOf(i)} is claimed by billing rows ${label(current)} and ${label(record)} — not pushed`,
      });
      return;
    }
    owners[i] = record;
  };

  const matchRecord = (record: BillingRecord): void => {
    if (record.source !== null) {
      const i = find(record.source, record.vmId);
      if (i !== undefined) {
        claim(i, record);
      } else if (!unknownSources.has(record.source) && !unreadableSources.has(record.source) && !unknownVms.has(vmKey(record.source, record.vmId))) {
        drift.push(billedButMissing(record, `source ${record.source} does not list it`));
      }
      return;
    }
    const held = byId.get(record.vmId);
    if (Array.isArray(held)) {
      for (const i of held) undecided[i] = 'billing row matches several sources';
      drift.push({
        class: 'ambiguous_billing',
        billingId: record.billingId,
        userId: record.userId,
        detail: `billing row ${label(record)} has no source and vm ${record.vmId} exists on ${held.map((i) => vms[i]!.source).join(', ')}; add a source column to the billing query — not pushed`,
      });
      return;
    }
    // A source that could hold this id is down: it may be there, or on that source too.
    const undecidable = unknownSources.size > 0 && isUndecidable(kindOfId(record.vmId));
    // An entry with this id that could not be read: that VM exists, and the row may mean it.
    const unreadable = rejectedOn.get(record.vmId);
    if (held !== undefined) {
      const source = vms[held]!.source;
      const unreadableElsewhere = unreadable !== undefined && unreadable.some((s) => s !== source);
      if (undecidable) undecided[held] = 'another source that may hold this id is unavailable';
      else if (unreadableElsewhere) undecided[held] = 'another source lists an entry with this id that could not be read';
      else if (unreadableCouldHold(kindOfId(record.vmId), source)) undecided[held] = 'another source that may hold this id lists an entry naming no VM';
      else claim(held, record);
    } else if (!undecidable && unreadable === undefined && !unreadableCouldHold(kindOfId(record.vmId), null)) {
      drift.push(billedButMissing(record, 'no source lists it'));
    }
  };

  if (!input.billing.ok) {
    undecided.fill('billing unavailable');
  } else {
    // Rows billing rejected still tell us which VM they were about: its owner is unknown, not "nobody".
    for (const bad of input.billing.rejected) {
      if (bad.vmId === undefined) continue;
      const source = bad.source ?? null;
      const about = source !== null ? [find(source, bad.vmId)].filter((i): i is number => i !== undefined) : holdersOf(bad.vmId);
      for (const i of about) undecided[i] = `billing row rejected: ${bad.problem}`;
    }
    for (const record of input.billing.records) matchRecord(record);
  }

  const observed = new Array<ObservedVm>(vms.length);
  for (let i = 0; i < vms.length; i++) {
    const vm = vms[i]!;
    const why = undecided[i];
    const record = why === undefined ? owners[i] : undefined;
    const ownership: Ownership = why !== undefined ? { kind: 'unknown', why } : record !== undefined ? OWNED : UNBILLED;
    if (record !== undefined) {
      if (record.suspended && vm.power === 'running') {
        const key = keyOf(i);
        drift.push({
          class: 'suspended_but_running',
          key,
          billingId: record.billingId,
          userId: record.userId,
          detail: `${key} (${vm.name}) runs although billing ${label(record)} is suspended; the panel shows it suspended — stop the VM or lift the suspension`,
        });
      }
    } else if (ownership.kind === 'unbilled') {
      const key = keyOf(i);
      drift.push({
        class: 'unbilled',
        key,
        detail: `${key} (${vm.name}, ${vm.power}) runs on ${vm.source} but no billing row owns it — not pushed`,
      });
    }
    observed[i] = new LazyObservedVm(vm, ownership, record ?? null);
  }

  return { observed, find, unknownSources, listedSources, unknownVms, unreadableSources, billingUp: input.billing.ok, drift };
}

function label(record: BillingRecord): string {
  return record.billingId !== null ? `#${record.billingId}` : `(vm ${record.vmId}, user ${record.userId})`;
}

function billedButMissing(record: BillingRecord, why: string): DriftItem {
  return {
    class: 'billed_but_missing',
    ...(record.source !== null ? { key: vmKey(record.source, record.vmId) } : {}),
    billingId: record.billingId,
    userId: record.userId,
    detail: `billing ${label(record)} (user ${record.userId}) pays for vm ${record.vmId} but ${why}`,
  };
}
