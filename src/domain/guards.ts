// guards(): holds back deletes that could be the symptom of a bad listing rather than of
// VMs really going away. A hypervisor answering an empty or partial list must never wipe
// customers' panels: a delete needs N consecutive successful listings without the VM, and
// when more deletes are due on a source than a count and a fraction of its VPSes, none of
// them is sent until an operator says so (`resync --force`, or `once --force` with no daemon running).
import { parseVmKey, type Action, type DriftItem, type SnapshotEntry, type VmKey } from './types.js';

export interface GuardSettings {
  readonly missingPassesBeforeDelete: number;
  readonly maxDeletesPerPass: number;
  readonly maxDeleteFraction: number;
}

export interface GuardInput {
  readonly actions: readonly Action[];
  readonly snapshot: readonly SnapshotEntry[];
  /** Missing counts after this pass (from plan()); entries not in it keep their snapshot value. */
  readonly missingPasses: ReadonlyMap<VmKey, number>;
  readonly settings: GuardSettings;
  /** `resync --force` / `once --force`: lifts the count and fraction limits for this pass (never the missing-pass rule). */
  readonly force?: boolean;
}

export interface GuardResult {
  readonly actions: readonly Action[];
  readonly held: readonly Action[];
  readonly drift: readonly DriftItem[];
}

/** Largest number of deletes a source may make in one pass. */
export function deleteBudget(settings: GuardSettings, sourceSize: number): number {
  if (sourceSize === 0 || settings.maxDeletesPerPass === 0 || settings.maxDeleteFraction === 0) return 0;
  // At least one, so a small source can still converge one VPS per pass.
  const byFraction = Math.max(1, Math.floor(settings.maxDeleteFraction * sourceSize));
  return Math.min(settings.maxDeletesPerPass, byFraction);
}

/** Applies the delete guards to a plan's actions. */
export function guards(input: GuardInput): GuardResult {
  const { settings } = input;
  // Sorted, so held deletes are reported in the same order pass after pass.
  const deletes = input.actions
    .filter((a): a is Action & { kind: 'delete' } => a.kind === 'delete')
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  // The usual pass deletes nothing: then there is nothing to guard (and no need to index 100,000 entries).
  if (deletes.length === 0) return { actions: input.actions, held: [], drift: [] };
  const deleteKeys = new Set(deletes.map((a) => a.key));
  const entryByKey = new Map<VmKey, SnapshotEntry>();
  const snapshotPerSource = new Map<string, number>();
  for (const e of input.snapshot) {
    if (deleteKeys.has(e.key)) entryByKey.set(e.key, e);
    snapshotPerSource.set(e.source, (snapshotPerSource.get(e.source) ?? 0) + 1);
  }

  const heldKeys = new Set<VmKey>();
  const held: Action[] = [];
  const drift: DriftItem[] = [];
  const hold = (action: Action & { kind: 'delete' }, why: string): void => {
    heldKeys.add(action.key);
    held.push(action);
    const entry = entryByKey.get(action.key);
    drift.push({
      class: 'held_delete',
      key: action.key,
      panelId: action.panelId,
      ...(entry ? { userId: entry.owner.userId, billingId: entry.owner.billingId } : {}),
      detail: `delete of ${action.key} (panel #${action.panelId}) held: ${why}`,
    });
  };

  // Deletes due this pass (past the missing-pass rule), by source.
  const duePerSource = new Map<string, Array<Action & { kind: 'delete' }>>();
  for (const action of deletes) {
    if (action.reason === 'gone_from_hypervisor') {
      const missing = input.missingPasses.get(action.key) ?? entryByKey.get(action.key)?.missingPasses ?? 0;
      if (missing < settings.missingPassesBeforeDelete) {
        // Waiting for confirmation is the normal path, not a problem: report it only as gone_from_hypervisor.
        heldKeys.add(action.key);
        continue;
      }
    }
    const { source } = parseVmKey(action.key);
    const due = duePerSource.get(source);
    if (due) due.push(action);
    else duePerSource.set(source, [action]);
  }

  if (!input.force) {
    for (const [source, due] of duePerSource) {
      // Of the VPSes the panel has for this source: the deletes can only be among them.
      const size = snapshotPerSource.get(source) ?? 0;
      const budget = deleteBudget(settings, size);
      if (due.length <= budget) continue;
      // More deletes than a pass may make is what a bad listing looks like (an empty answer, a wrong
      // filter): none of them goes, not just the excess, or the budget would only pace the damage.
      // They wait for a person: a forced pass if the VMs really are gone, or a fix of the listing.
      const why = `${due.length} deletes are due on source ${source}, more than the ${budget} one pass may make (guards.maxDeletesPerPass ${settings.maxDeletesPerPass}, maxDeleteFraction ${settings.maxDeleteFraction} of ${size} VPSes); none is sent until an operator runs "resync --force" ("once --force" with no daemon running) if the VMs really are gone, or the listing is fixed`;
      for (const action of due) hold(action, why);
    }
  }

  // A held owner-change delete holds its create too: the old customer's VPS must go first.
  const actions = input.actions.filter((a) => !heldKeys.has(a.key));
  return { actions, held, drift };
}
