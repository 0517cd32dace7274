// gate(): the outbox's say over this pass's actions. Level-triggered planning would re-send a
// failing call every pass; the gate adds per-item backoff, stops re-sending a payload the
// panel rejected, and never re-sends a create whose outcome is unknown (a duplicate VPS).
import type { Action, DriftItem, OutboxItem, Ownership, PanelFields, SnapshotEntry, VmKey } from './types.js';

export interface GateInput {
  readonly actions: readonly Action[];
  /** Open (not done) outbox items, at most one per key and kind. */
  readonly open: readonly OutboxItem[];
  readonly now: number;
  /**
   * The longest backoff a failure is given (`retry.maxDelayMs`). A wait beyond it means the wall
   * clock was set back since the failure: the action goes now rather than as much later as the
   * clock jumped.
   */
  readonly maxBackoffMs?: number;
  /** Full resync: retry now regardless of backoff and earlier rejections. */
  readonly full?: boolean;
}

export interface SkippedAction {
  readonly action: Action;
  readonly why: string;
  /**
   * `retry`: it goes by itself once its backoff is over. `operator`: a person must act first (an
   * ambiguous create to resolve; a payload the panel rejected, until it or the panel changes) —
   * reported as drift with its own alert, so it does not make every later pass incomplete.
   */
  readonly waitsFor: 'retry' | 'operator';
}

export interface GateResult {
  readonly send: readonly Action[];
  readonly skipped: readonly SkippedAction[];
  /** One `ambiguous` item per unresolved create. */
  readonly drift: readonly DriftItem[];
}

/** Per-item exponential backoff ("equal jitter"), capped; `random` is injected for tests. */
export function backoffDelay(attempts: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
  // Half fixed, half jittered: never retries immediately, never synchronises a fleet of items.
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

function samePayload(a: PanelFields | null, b: PanelFields | null): boolean {
  if (a === null || b === null) return a === b;
  return JSON.stringify(a) === JSON.stringify(b);
}

function fieldsOf(action: Action): PanelFields | null {
  return action.kind === 'delete' ? null : action.desired.fields;
}

/**
 * Deletes that were sent and not confirmed (failed as retryable, or in flight when the daemon
 * stopped), by VM key → panel id: the panel may already have done them.
 */
export function unconfirmedDeletes(open: readonly OutboxItem[]): Map<VmKey, number> {
  const out = new Map<VmKey, number>();
  for (const item of open) {
    if (item.kind !== 'delete' || item.panelId === null) continue;
    if (item.state === 'in_flight' || (item.state === 'failed' && item.failure === 'retryable')) out.set(item.key, item.panelId);
  }
  return out;
}

/**
 * Updates that were sent and not confirmed, by VM key: the panel id they were for and the fields
 * they carried (the panel may show those rather than what the snapshot says was sent).
 */
export function unconfirmedUpdates(open: readonly OutboxItem[]): Map<VmKey, { panelId: number; fields: PanelFields; owner: Ownership | null }> {
  const out = new Map<VmKey, { panelId: number; fields: PanelFields; owner: Ownership | null }>();
  for (const item of open) {
    if (item.kind !== 'update' || item.panelId === null || item.fields === null) continue;
    if (item.state === 'in_flight' || (item.state === 'failed' && item.failure === 'retryable')) out.set(item.key, { panelId: item.panelId, fields: item.fields, owner: item.owner });
  }
  return out;
}

export interface MootInput {
  readonly open: readonly OutboxItem[];
  /** The snapshot after the pass's calls were recorded. */
  readonly snapshot: readonly SnapshotEntry[];
  /** Every action the pass planned, before guards and gate. */
  readonly planned: readonly Action[];
  /** Whether the pass saw this VM's source and the billing well enough that its plan for it is complete. */
  readonly settled: (key: VmKey) => boolean;
}

/**
 * Failed items nothing will ever send again: an update of a VPS the snapshot no longer has (it was
 * deleted or replaced), or a create the pass no longer planned although it saw the VM's source and
 * the billing (the VM is gone or unbilled, or its VPS exists by now). Left open they would show as
 * pending forever. Ambiguous creates and deletes are never moot.
 */
export function mootItems(input: MootInput): OutboxItem[] {
  const failed = input.open.filter((i) => i.state === 'failed' && (i.kind === 'update' || i.kind === 'create'));
  if (failed.length === 0) return [];
  const panelIdOf = new Map<VmKey, number>();
  for (const e of input.snapshot) panelIdOf.set(e.key, e.panelId);
  const plannedCreates = new Set(input.planned.filter((a) => a.kind === 'create').map((a) => a.key));
  return failed.filter((i) =>
    i.kind === 'update' ? panelIdOf.get(i.key) !== i.panelId : !plannedCreates.has(i.key) && input.settled(i.key),
  );
}

function clockSetBack(nextAttemptAt: number, input: GateInput): boolean {
  return input.maxBackoffMs !== undefined && nextAttemptAt - input.now > input.maxBackoffMs;
}

/** Filters a pass's actions through the outbox state. */
export function gate(input: GateInput): GateResult {
  const ambiguousCreates = new Map<VmKey, OutboxItem>();
  const failedByKey = new Map<VmKey, OutboxItem[]>();
  const drift: DriftItem[] = [];
  for (const item of input.open) {
    if (item.state === 'ambiguous') {
      ambiguousCreates.set(item.key, item);
      drift.push({
        class: 'ambiguous',
        key: item.key,
        ...(item.owner ? { userId: item.owner.userId, billingId: item.owner.billingId } : {}),
        detail: `${item.kind} of ${item.key} may or may not have reached the panel (${item.lastError ?? 'no answer'}); check the panel, then run "ospab-vps-sync resolve ${item.key} --panel-id N" (it exists) or "--recreate" (it does not)`,
      });
    } else if (item.state === 'failed') {
      const list = failedByKey.get(item.key);
      if (list) list.push(item);
      else failedByKey.set(item.key, [item]);
    }
  }

  const send: Action[] = [];
  const skipped: SkippedAction[] = [];
  // A VM's actions depend on each other in order (the old owner's VPS must go before the new one
  // is made): once one is held back, so are the ones after it.
  const heldKeys = new Map<VmKey, SkippedAction>();
  const skip = (action: Action, why: string, waitsFor: SkippedAction['waitsFor']): void => {
    const skippedAction = { action, why, waitsFor };
    skipped.push(skippedAction);
    if (!heldKeys.has(action.key)) heldKeys.set(action.key, skippedAction);
  };
  for (const action of input.actions) {
    const earlier = heldKeys.get(action.key);
    if (earlier) {
      skip(action, `waiting for the ${earlier.action.kind} of ${action.key} before it`, earlier.waitsFor);
      continue;
    }
    if (action.kind === 'create' && ambiguousCreates.has(action.key)) {
      skip(action, 'an earlier create may have reached the panel; waiting for "resolve"', 'operator');
      continue;
    }
    const failed = (failedByKey.get(action.key) ?? []).find((f) => f.kind === action.kind);
    if (failed && !input.full) {
      if (failed.failure === 'rejected' && samePayload(failed.fields, fieldsOf(action))) {
        skip(action, `the panel rejected this exact payload: ${failed.lastError ?? ''}`, 'operator');
        continue;
      }
      if (failed.failure === 'retryable' && failed.nextAttemptAt !== null && failed.nextAttemptAt > input.now && !clockSetBack(failed.nextAttemptAt, input)) {
        skip(action, `backing off after ${failed.attempts} failed attempt${failed.attempts === 1 ? '' : 's'} until ${new Date(failed.nextAttemptAt).toISOString()}`, 'retry');
        continue;
      }
    }
    send.push(action);
  }
  return { send, skipped, drift };
}
