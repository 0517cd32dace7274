// The narrow interfaces at the seams between the engine and the outside world.
// Each external system lives behind exactly one of these; the engine knows nothing else.
import type { BillingRecord, HypervisorKind, PanelFields, RejectedItem, SourceEndpoint, UnreportedVm, VmRecord } from './types.js';

/** How a pass wants a source listed. */
export interface ListOptions {
  /** A full resync: re-read what the source would otherwise take from its cache (vSphere VM details). */
  readonly fresh?: boolean;
}

/** A hypervisor inventory. Throws when the listing as a whole is unusable (the source is then *unknown*). */
export interface VmSource {
  readonly name: string;
  readonly kind: HypervisorKind;
  /**
   * Lists every guest; items that fail validation come back in `rejected`, never silently dropped,
   * and guests listed without their state in `unreported`; a source with several endpoints says
   * in `endpoint` which one answered.
   */
  listVms(signal: AbortSignal, options?: ListOptions): Promise<{ vms: VmRecord[]; rejected: RejectedItem[]; unreported?: UnreportedVm[]; endpoint?: SourceEndpoint }>;
  /** Releases sessions and sockets (vSphere logout). */
  close(): Promise<void>;
}

/** What a billing query gave: the records, and the rows that were not made into one. */
export interface BillingAnswer {
  readonly records: readonly BillingRecord[];
  readonly rejected: readonly RejectedItem[];
}

/** The billing database. Throws when the query cannot run (billing is then *unavailable*). */
export interface BillingSource {
  /** Runs the one read-only query of a pass; bad rows come back in `rejected`. */
  listRecords(signal: AbortSignal): Promise<BillingAnswer>;
  close(): Promise<void>;
}

/**
 * How a panel call ended, classified for the engine:
 * - `rejected`: the panel refused this VPS (400); retrying the same payload will not help.
 * - `unauthorized`: the API key is wrong (401); a configuration error, stop sending.
 * - `not_found`: the id does not exist on the panel (404 on update/delete).
 * - `retryable`: the request certainly did not take effect (connection refused, 502/503).
 * - `ambiguous`: the request may have taken effect (timeout or reset after sending, 500/504).
 */
export type PanelFailureKind = 'rejected' | 'unauthorized' | 'not_found' | 'retryable' | 'ambiguous';

export type PanelResult<T> =
  | { readonly ok: true; readonly value: T; readonly status: number }
  | { readonly ok: false; readonly kind: PanelFailureKind; readonly message: string; readonly status?: number };

/** The panel's `POST /api/vps/sync`. Never throws for wire failures: every outcome is a `PanelResult`. */
export interface PanelClient {
  create(fields: PanelFields, signal?: AbortSignal): Promise<PanelResult<{ id: number }>>;
  update(id: number, fields: PanelFields, signal?: AbortSignal): Promise<PanelResult<void>>;
  delete(id: number, signal?: AbortSignal): Promise<PanelResult<void>>;
}

/** Wall-clock source, injected so tests and the planner never read the real time directly. */
export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };
