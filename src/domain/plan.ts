// plan(): compares the desired state with the snapshot (what the panel was told) and lists
// the panel calls that remove each difference. Pure; guards() decides which deletes may go.
import type { DesiredState, ObservedVm } from './desired.js';
import { changedFields, refreshFromHypervisor, showsSame } from './mapping.js';
import type { Action, DesiredVps, DriftItem, Ownership, PanelFields, SnapshotEntry, VmKey } from './types.js';
import { vmKey } from './types.js';

export interface PlanInput {
  readonly state: DesiredState;
  readonly snapshot: readonly SnapshotEntry[];
  /** Full resync: re-send every known VPS even when nothing changed. */
  readonly full?: boolean;
  /** Deletes sent but never confirmed (see `unconfirmedDeletes()` in gate.ts): VM key → panel id. */
  readonly unconfirmedDeletes?: ReadonlyMap<VmKey, number>;
  /** Updates sent but never confirmed (see `unconfirmedUpdates()` in gate.ts): VM key → panel id and fields. */
  readonly unconfirmedUpdates?: ReadonlyMap<VmKey, { readonly panelId: number; readonly fields: PanelFields; readonly owner?: Ownership | null }>;
}

export interface PlanResult {
  readonly actions: readonly Action[];
  /** The panel-side drift: missing_on_panel, stale_on_panel, gone_from_hypervisor, owner_changed. */
  readonly drift: readonly DriftItem[];
  /** New consecutive-missing counts for snapshot entries whose source listed (only those that change). */
  readonly missingPasses: ReadonlyMap<VmKey, number>;
}

/** True when two owners are the same customer and the same service. */
export function sameOwner(a: Ownership, b: Ownership): boolean {
  if (a.userId !== b.userId) return false;
  // A billing id appearing where there was none is the same service gaining an id, not a new one.
  return a.billingId === null || b.billingId === null || a.billingId === b.billingId;
}

/** Plans the panel calls of one pass. */
export function plan(input: PlanInput): PlanResult {
  const { state, full = false } = input;
  const find = state.find ?? findByKey(state.observed);
  // Observed VMs the snapshot knows (by position in state.observed): the others are new.
  const known = new Uint8Array(state.observed.length);

  const actions: Action[] = [];
  const drift: DriftItem[] = [];
  const missingPasses = new Map<VmKey, number>();

  for (const entry of input.snapshot) {
    const at = find(entry.source, entry.externalId);
    if (at !== undefined) known[at] = 1;
    if (state.unknownSources.has(entry.source) || !sourceListed(state, entry.source)) continue;
    // Its entry was there but unusable (bad values, node offline): unknown, so neither missing nor changed.
    if (state.unknownVms.has(entry.key)) {
      // But listed: it exists, so a run of listings without it is over (deletes need N in a row).
      if (entry.missingPasses !== 0) missingPasses.set(entry.key, 0);
      continue;
    }
    const seen: ObservedVm | undefined = at === undefined ? undefined : state.observed[at];
    if (!seen) {
      // The listing had an entry naming no VM: this VPS's VM may be that entry, so it is not missing.
      if (state.unreadableSources.has(entry.source)) continue;
      const missing = entry.missingPasses + 1;
      missingPasses.set(entry.key, missing);
      drift.push({
        class: 'gone_from_hypervisor',
        key: entry.key,
        panelId: entry.panelId,
        userId: entry.owner.userId,
        billingId: entry.owner.billingId,
        detail: `${entry.key} (panel #${entry.panelId}, "${entry.sent.name}") is no longer on ${entry.source} (missing ${missing} listing${missing === 1 ? '' : 's'})${state.billingUp ? '' : '; not deleted while billing is unavailable'}`,
      });
      // Billing down: no deletes at all that pass (the missing count still grows, so it is deleted once billing answers).
      if (state.billingUp) actions.push({ kind: 'delete', key: entry.key, panelId: entry.panelId, reason: 'gone_from_hypervisor' });
      continue;
    }
    if (entry.missingPasses !== 0) missingPasses.set(entry.key, 0);

    // Most VMs of a steady pass: the same customer, nothing changed, no unconfirmed call to finish
    // or repeat. Decided from the VM and its billing row, without building the desired VPS (what
    // follows would come to the same: no drift, no action).
    if (
      !full &&
      seen.record !== null &&
      sameOwner(entry.owner, seen.record) &&
      showsSame(entry.sent, seen.vm, seen.record) &&
      !(state.billingUp && input.unconfirmedDeletes?.get(entry.key) === entry.panelId) &&
      input.unconfirmedUpdates?.get(entry.key)?.panelId !== entry.panelId
    ) {
      continue;
    }

    if (seen.desired && !sameOwner(entry.owner, seen.desired.owner)) {
      drift.push({
        class: 'owner_changed',
        key: entry.key,
        panelId: entry.panelId,
        userId: seen.desired.owner.userId,
        billingId: seen.desired.owner.billingId,
        detail: `${entry.key} now belongs to user ${seen.desired.owner.userId} (billing ${seen.desired.owner.billingId ?? '-'}), was user ${entry.owner.userId} (billing ${entry.owner.billingId ?? '-'}): panel #${entry.panelId} is deleted and a new VPS created`,
      });
      actions.push({ kind: 'delete', key: entry.key, panelId: entry.panelId, reason: 'owner_changed' });
      actions.push({ kind: 'create', key: entry.key, desired: seen.desired, reason: 'owner_changed' });
      continue;
    }

    if (state.billingUp && input.unconfirmedDeletes?.get(entry.key) === entry.panelId) {
      // The VM is back, but the delete of its VPS was already sent and never confirmed: the panel may
      // have done it, and it cannot be read back. Cancelling would leave a snapshot entry for a VPS
      // that may not exist (lost for good, since an update of an unknown id may answer 2xx); so the
      // delete is finished (deletes are idempotent) and the next pass creates the VPS again.
      drift.push({
        class: 'missing_on_panel',
        key: entry.key,
        panelId: entry.panelId,
        userId: entry.owner.userId,
        billingId: entry.owner.billingId,
        detail: `${entry.key} is back on ${entry.source}, but the delete of panel #${entry.panelId} was sent and never confirmed: finishing it, then the VPS is created again`,
      });
      actions.push({ kind: 'delete', key: entry.key, panelId: entry.panelId, reason: 'ambiguous' });
      continue;
    }

    // An update that was sent and never confirmed may have been applied: the panel may show its
    // fields, not `entry.sent`. Until one is confirmed, the current fields are sent again (even when
    // the VM went back to what the snapshot says), or the panel could keep the abandoned values.
    const doubt = input.unconfirmedUpdates?.get(entry.key);
    const shown = doubt && doubt.panelId === entry.panelId ? doubt.fields : null;
    // Same owner, or an owner we cannot establish this pass: keep the customer, refresh the facts.
    // Billing's last word is the last update sent for this same customer, confirmed or not (a
    // suspension whose answer was lost is not lifted because billing then went quiet, nor a lifted
    // one imposed again) — not one for the previous owner, which a panel that hands a deleted VPS's
    // id to the next create (restored database, AUTO_INCREMENT reset) can leave on this panel id.
    const doubtOwner = doubt?.owner ?? (shown ? { userId: shown.user_id, billingId: null } : null);
    const lastWord = shown && doubtOwner && sameOwner(doubtOwner, entry.owner) ? shown : entry.sent;
    const want: DesiredVps = seen.desired ?? {
      key: entry.key,
      source: entry.source,
      externalId: entry.externalId,
      owner: entry.owner,
      fields: refreshFromHypervisor(seen.vm, lastWord),
    };
    const changed = changedFields(entry.sent, want.fields);
    const changedSinceDoubt = shown ? changedFields(shown, want.fields) : [];
    if (changed.length > 0 || changedSinceDoubt.length > 0) {
      const from = changed.length > 0 ? entry.sent : shown!;
      const fieldsChanged = changed.length > 0 ? changed : changedSinceDoubt;
      drift.push({
        class: 'stale_on_panel',
        key: entry.key,
        panelId: entry.panelId,
        userId: want.owner.userId,
        detail: `${entry.key} (panel #${entry.panelId}): ${fieldsChanged.map((f) => `${f} ${String(from[f])} → ${String(want.fields[f])}`).join(', ')}${changed.length > 0 ? '' : ' (an earlier update may have reached the panel)'}`,
      });
    }
    if (changed.length > 0 || shown || full) {
      actions.push({ kind: 'update', key: entry.key, panelId: entry.panelId, desired: want, changed: changed.length > 0 ? changed : changedSinceDoubt, ownerConfirmed: seen.desired !== null });
    }
  }

  for (let i = 0; i < state.observed.length; i++) {
    const o = state.observed[i]!;
    if (known[i] === 1 || !o.desired || state.unknownVms.has(o.key)) continue;
    drift.push({
      class: 'missing_on_panel',
      key: o.key,
      userId: o.desired.owner.userId,
      billingId: o.desired.owner.billingId,
      detail: `${o.key} ("${o.desired.fields.name}", user ${o.desired.owner.userId}) is not on the panel yet`,
    });
    actions.push({ kind: 'create', key: o.key, desired: o.desired, reason: 'missing_on_panel' });
  }

  return { actions, drift, missingPasses };
}

function sourceListed(state: DesiredState, source: string): boolean {
  // A snapshot entry of a source that is no longer configured is never "listed": it is left alone
  // (and the runtime refuses to start until the operator renames or forgets that source).
  return state.listedSources.has(source);
}

/** The lookup desired() provides, for a state built without it (tests). */
function findByKey(observed: readonly ObservedVm[]): (source: string, externalId: string) => number | undefined {
  const at = new Map(observed.map((o, i) => [o.key, i]));
  return (source, externalId) => at.get(vmKey(source, externalId));
}
