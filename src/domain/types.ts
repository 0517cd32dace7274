// The vocabulary of the daemon. Everything past the I/O boundaries speaks in these types;
// every value here has already been validated by the module that produced it.

/** Hypervisor families the panel knows (we only observe the first two). */
export type HypervisorKind = 'proxmox' | 'vmware';

/** Power/lifecycle state of a VM, normalised across hypervisors. */
export type VmPower = 'running' | 'stopped' | 'suspended' | 'creating';

/** Statuses the panel accepts. */
export type PanelStatus = 'creating' | 'running' | 'stopped' | 'suspended';
export const PANEL_STATUSES: readonly PanelStatus[] = ['creating', 'running', 'stopped', 'suspended'];

/** One guest as a source observed it, units already normalised. */
export interface VmRecord {
  /** Name of the configured source (e.g. `pve1`). */
  readonly source: string;
  /** Proxmox vmid as a decimal string, or a vSphere managed-object id (`vm-1003`). */
  readonly externalId: string;
  readonly hypervisor: HypervisorKind;
  readonly name: string;
  /** Cores. */
  readonly cpu: number;
  /** Memory in MB (MiB, as the panel means it); at least 1. */
  readonly ramMb: number;
  /**
   * Total disk in GB, rounded up, and at least 1: the panel takes only positive sizes, so a VM
   * without a disk (network boot) would be refused for good and never shown to its customer.
   */
  readonly diskGb: number;
  /** Guest OS as the hypervisor reports it, or null when it cannot tell. */
  readonly os: string | null;
  readonly power: VmPower;
  /** Where it runs (Proxmox node, vSphere host/cluster); informational, for logs and filters. */
  readonly location?: string;
}

/** One row of the billing query, validated. */
export interface BillingRecord {
  /** Billing's own id for the service (e.g. `server.id`), for operators; null when the query gives none. */
  readonly billingId: string | null;
  /** The VM's external id on its hypervisor (same spelling as `VmRecord.externalId`). */
  readonly vmId: string;
  /** Restricts the match to one source; null matches whichever single source has `vmId`. */
  readonly source: string | null;
  /** The panel's SSO user id. */
  readonly userId: number;
  /** Billing says the service is suspended/blocked. */
  readonly suspended: boolean;
  readonly os: string | null;
  readonly name: string | null;
}

/** The fields the panel stores for a VPS, exactly as sent on the wire. */
export interface PanelFields {
  readonly user_id: number;
  readonly name: string;
  readonly cpu: number;
  readonly ram: number;
  readonly disk: number;
  readonly os: string;
  readonly status: PanelStatus;
  readonly hypervisor: HypervisorKind;
}
export const PANEL_FIELD_NAMES: readonly (keyof PanelFields)[] = [
  'user_id', 'name', 'cpu', 'ram', 'disk', 'os', 'status', 'hypervisor',
];

/** `source/externalId` — the identity of a VM across the whole daemon. */
export type VmKey = string;

/** Builds the identity key of a VM. */
export function vmKey(source: string, externalId: string): VmKey {
  return `${source}/${externalId}`;
}

/** Splits a key made by `vmKey` (source names never contain `/`; config enforces it). */
export function parseVmKey(key: VmKey): { source: string; externalId: string } {
  const slash = key.indexOf('/');
  if (slash <= 0 || slash === key.length - 1) throw new Error(`not a VM key: "${key}" (expected source/id)`);
  return { source: key.slice(0, slash), externalId: key.slice(slash + 1) };
}

/** Who a VPS belongs to; a change here means "different customer", never an update. */
export interface Ownership {
  readonly userId: number;
  readonly billingId: string | null;
}

/** What the panel should show for one VM. */
export interface DesiredVps {
  readonly key: VmKey;
  readonly source: string;
  readonly externalId: string;
  readonly owner: Ownership;
  readonly fields: PanelFields;
}

/** The daemon's memory of one VPS it told the panel about. */
export interface SnapshotEntry {
  readonly key: VmKey;
  readonly source: string;
  readonly externalId: string;
  readonly panelId: number;
  readonly owner: Ownership;
  /** The values last acknowledged by the panel. */
  readonly sent: PanelFields;
  /** Consecutive successful listings of its source in which the VM was absent. */
  readonly missingPasses: number;
}

/** The result of listing one source: its VMs, or the reason it is unknown this pass. */
export type SourceListing =
  | {
      readonly source: string;
      readonly ok: true;
      readonly vms: readonly VmRecord[];
      readonly rejected: readonly RejectedItem[];
      /** Guests listed without their state (absent: none). */
      readonly unreported?: readonly UnreportedVm[];
      /** Which endpoint answered (absent: the source does not say). */
      readonly endpoint?: SourceEndpoint;
    }
  | { readonly source: string; readonly ok: false; readonly error: string };

/**
 * Which of a source's API endpoints answered a listing: the configured `url` or, after that one
 * failed, one of its fallbacks (Proxmox `fallbackUrls`). Shown by `status`, because a source that
 * is up through a fallback still has a node down that an operator should look at.
 */
export interface SourceEndpoint {
  /** Origin and base path only (as messages and logs name it): never credentials. */
  readonly url: string;
  /** True when it is not the configured `url`. */
  readonly fallback: boolean;
  /** With a fallback: the configured `url`, and when (ms) it last failed to answer. */
  readonly primary?: { readonly url: string; readonly failedAt: number };
}

/**
 * A guest the hypervisor lists but reports nothing current about: Proxmox names every guest of a
 * node that is offline (or whose status daemon stopped) with `status: "unknown"` and no name,
 * CPU, memory or disk; vCenter keeps listing the VMs of a host it has lost (DISCONNECTED,
 * NOT_RESPONDING) with the power state it saw last. The VM exists, so it is never missing; its
 * state is unknown, so nothing of it is sent. Not bad input: an expected state of a cluster,
 * reported per node or host rather than per VM.
 */
export interface UnreportedVm {
  readonly vmId: string;
  /** Where it runs, as the hypervisor names it (the Proxmox node, the ESXi host). */
  readonly node: string;
}

/** The result of the billing query: its records, or the reason it is unavailable this pass. */
export type BillingListing =
  | { readonly ok: true; readonly records: readonly BillingRecord[]; readonly rejected: readonly RejectedItem[] }
  | { readonly ok: false; readonly error: string };

/** An external item dropped at a boundary, with a message saying what was wrong and where. */
export interface RejectedItem {
  /** Where it came from: `pve1: qemu/104`, `billing row 17 (billing_id 42)`. */
  readonly where: string;
  readonly problem: string;
  /** The VM it was about, when that much could be read. For a listing entry (with `source`) the VM
   *  counts as unknown this pass, never missing; for a billing row, as "owner unknown" rather
   *  than "unbilled". */
  readonly vmId?: string;
  readonly source?: string | null;
  /**
   * A listing entry that names no VM at all (no readable id): any VM of its source absent from
   * the listing may be this one, so none of them counts as missing that pass. Not set for
   * warnings about a VM that is listed anyway (a vSphere detail served from the cache).
   */
  readonly namesNoVm?: true;
}

export type DriftClass =
  | 'missing_on_panel'
  | 'stale_on_panel'
  | 'gone_from_hypervisor'
  | 'owner_changed'
  | 'unbilled'
  | 'billed_but_missing'
  | 'suspended_but_running'
  | 'ambiguous_billing'
  | 'held_delete'
  | 'ambiguous';
export const DRIFT_CLASSES: readonly DriftClass[] = [
  'missing_on_panel', 'stale_on_panel', 'gone_from_hypervisor', 'owner_changed', 'unbilled',
  'billed_but_missing', 'suspended_but_running', 'ambiguous_billing', 'held_delete', 'ambiguous',
];

/** Drift the daemon removes by itself (the calls of this pass): logged at debug level only; the rest needs a person. */
export const PANEL_SIDE_DRIFT: ReadonlySet<DriftClass> = new Set<DriftClass>(['missing_on_panel', 'stale_on_panel', 'gone_from_hypervisor']);

/** One difference an operator may want to know about. */
export interface DriftItem {
  readonly class: DriftClass;
  /** The VM key when the item is about a VM. */
  readonly key?: VmKey;
  readonly panelId?: number;
  readonly billingId?: string | null;
  readonly userId?: number;
  /** One human sentence: what differs and what the daemon does about it. */
  readonly detail: string;
}

export type ActionKind = 'create' | 'update' | 'delete';

/** One call to the panel. Actions of the same key run in order; different keys in parallel. */
export type Action =
  | { readonly kind: 'create'; readonly key: VmKey; readonly desired: DesiredVps; readonly reason: DriftClass }
  | {
      readonly kind: 'update';
      readonly key: VmKey;
      readonly panelId: number;
      readonly desired: DesiredVps;
      /** Field names whose value differs from what was last sent. */
      readonly changed: readonly (keyof PanelFields)[];
      /** Billing confirmed the owner this pass (so the VPS may be re-created if the panel lost it). */
      readonly ownerConfirmed: boolean;
    }
  | { readonly kind: 'delete'; readonly key: VmKey; readonly panelId: number; readonly reason: DriftClass };

/** What the planner decided for one pass. */
export interface Plan {
  readonly actions: readonly Action[];
  readonly drift: readonly DriftItem[];
}

/** Lifecycle of one journaled panel call. */
export type OutboxState = 'in_flight' | 'done' | 'failed' | 'ambiguous';

/** One panel call as journaled in the outbox (written before sending, resolved after the answer). */
export interface OutboxItem {
  readonly id: number;
  readonly key: VmKey;
  readonly kind: ActionKind;
  readonly panelId: number | null;
  /** What was (or is to be) sent; null for deletes. */
  readonly fields: PanelFields | null;
  readonly owner: Ownership | null;
  readonly state: OutboxState;
  /** For `failed`: whether sending the same payload again can help. */
  readonly failure: 'retryable' | 'rejected' | null;
  readonly attempts: number;
  /** Epoch ms before which a `failed` retryable item is not retried. */
  readonly nextAttemptAt: number | null;
  readonly lastError: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}
