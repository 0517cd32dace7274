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

/** Who owns a listed VM, as far as this pass can tell. */
export type Ownership =
  | { readonly kind: 'owned'; readonly record: BillingRecord }
  /** Billing answered and no row claims the VM. */
  | { readonly kind: 'unbilled' }
  /** Billing is down, or the VM's row is ambiguous or was rejected: no decision about ownership. */
  | { readonly kind: 'unknown'; readonly why: string };

/** One VM of a source that listed successfully, with its owner and (when owned) the VPS it should be. */
export interface ObservedVm {
  readonly key: VmKey;
  readonly vm: VmRecord;
  readonly ownership: Ownership;
  /** Present exactly when `ownership.kind === 'owned'`. */
  readonly desired: DesiredVps | null;
}

export interface DesiredState {
  /** Every VM of every source that listed successfully. */
  readonly observed: readonly ObservedVm[];
  /** Sources whose listing failed: unknown this pass, never empty. */
  readonly unknownSources: ReadonlySet<string>;
  /** Sources that listed successfully; only their VMs can be missing. */
  readonly listedSources: ReadonlySet<string>;
  /** VMs whose listing entry was rejected: they exist but are unknown this pass (never missing). */
  readonly unknownVms: ReadonlySet<VmKey>;
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

/** Computes the desired panel state of every listed VM, and the billing-side drift. */
export function desired(input: DesiredInput): DesiredState {
  const unknownSources = new Set<string>();
  const unknownVms = new Set<VmKey>();
  const vmsByKey = new Map<VmKey, VmRecord>();
  const sourcesById = new Map<string, string[]>(); // external id → sources that listed it
  for (const listing of input.listings) {
    if (!listing.ok) {
      unknownSources.add(listing.source);
      continue;
    }
    for (const bad of listing.rejected) if (bad.vmId !== undefined) unknownVms.add(vmKey(listing.source, bad.vmId));
    for (const vm of listing.vms) {
      vmsByKey.set(vmKey(vm.source, vm.externalId), vm);
      const list = sourcesById.get(vm.externalId);
      if (list) list.push(vm.source);
      else sourcesById.set(vm.externalId, [vm.source]);
    }
  }
  const listedSources = new Set(input.listings.filter((l) => l.ok).map((l) => l.source));
  for (const s of input.sources) if (!listedSources.has(s.name)) unknownSources.add(s.name);

  const drift: DriftItem[] = [];
  const owners = new Map<VmKey, Ownership>();

  if (!input.billing.ok) {
    for (const key of vmsByKey.keys()) owners.set(key, { kind: 'unknown', why: 'billing unavailable' });
  } else {
    // Rows billing rejected still tell us which VM they were about: its owner is unknown, not "nobody".
    for (const bad of input.billing.rejected) {
      if (bad.vmId === undefined) continue;
      for (const key of candidateKeys(bad.vmId, bad.source ?? null)) {
        owners.set(key, { kind: 'unknown', why: `billing row rejected: ${bad.problem}` });
      }
    }
    for (const record of input.billing.records) {
      matchRecord(record);
    }
  }

  function candidateKeys(vmId: string, source: string | null): VmKey[] {
    if (source !== null) return vmsByKey.has(vmKey(source, vmId)) ? [vmKey(source, vmId)] : [];
    return (sourcesById.get(vmId) ?? []).map((s) => vmKey(s, vmId));
  }

  function matchRecord(record: BillingRecord): void {
    if (record.source !== null) {
      const key = vmKey(record.source, record.vmId);
      if (vmsByKey.has(key)) {
        claim(key, record);
      } else if (!unknownSources.has(record.source)) {
        drift.push(billedButMissing(record, `source ${record.source} does not list it`));
      }
      return;
    }
    const holders = sourcesById.get(record.vmId) ?? [];
    if (holders.length > 1) {
      const keys = holders.map((s) => vmKey(s, record.vmId));
      for (const key of keys) owners.set(key, { kind: 'unknown', why: 'billing row matches several sources' });
      drift.push({
        class: 'ambiguous_billing',
        billingId: record.billingId,
        userId: record.userId,
        detail: `billing row ${label(record)} has no source and vm ${record.vmId} exists on ${holders.join(', ')}; add a source column to the billing query — not pushed`,
      });
      return;
    }
    // A source that could hold this id is down: it may be there, or on that source too.
    const kind = kindOfId(record.vmId);
    const undecidable = input.sources.some((s) => unknownSources.has(s.name) && (kind === null || s.kind === kind));
    if (holders.length === 1 && !undecidable) {
      claim(vmKey(holders[0]!, record.vmId), record);
    } else if (holders.length === 1) {
      owners.set(vmKey(holders[0]!, record.vmId), { kind: 'unknown', why: 'another source that may hold this id is unavailable' });
    } else if (!undecidable) {
      drift.push(billedButMissing(record, 'no source lists it'));
    }
  }

  function claim(key: VmKey, record: BillingRecord): void {
    const current = owners.get(key);
    if (current?.kind === 'unknown') return; // a rejected or ambiguous row already made it undecidable
    if (current?.kind === 'owned') {
      // Two rows for one VM (one with source, one without): billing contradicts itself.
      owners.set(key, { kind: 'unknown', why: 'several billing rows claim this VM' });
      drift.push({
        class: 'ambiguous_billing',
        key,
        billingId: record.billingId,
        userId: record.userId,
        detail: `${key} is claimed by billing rows ${label(current.record)} and ${label(record)} — not pushed`,
      });
      return;
    }
    owners.set(key, { kind: 'owned', record });
  }

  const observed: ObservedVm[] = [];
  for (const [key, vm] of vmsByKey) {
    const ownership = owners.get(key) ?? ({ kind: 'unbilled' } as const);
    let want: DesiredVps | null = null;
    if (ownership.kind === 'owned') {
      const record = ownership.record;
      want = {
        key,
        source: vm.source,
        externalId: vm.externalId,
        owner: { userId: record.userId, billingId: record.billingId },
        fields: panelFieldsFor(vm, record),
      };
      if (record.suspended && vm.power === 'running') {
        drift.push({
          class: 'suspended_but_running',
          key,
          billingId: record.billingId,
          userId: record.userId,
          detail: `${key} (${vm.name}) runs although billing ${label(record)} is suspended; the panel shows it suspended — stop the VM or lift the suspension`,
        });
      }
    } else if (ownership.kind === 'unbilled') {
      drift.push({
        class: 'unbilled',
        key,
        detail: `${key} (${vm.name}, ${vm.power}) runs on ${vm.source} but no billing row owns it — not pushed`,
      });
    }
    observed.push({ key, vm, ownership, desired: want });
  }

  return { observed, unknownSources, listedSources, unknownVms, billingUp: input.billing.ok, drift };
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
