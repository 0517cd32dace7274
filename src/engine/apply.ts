// apply(): sends a pass's actions to the panel with bounded concurrency. Each call is
// journaled in the outbox before it is sent and resolved after its answer, so a crash at
// any point neither loses an action nor turns an unknown create into a duplicate. The writes
// of one event-loop turn share a transaction (OutboxBatch), which keeps SQLite off the critical path.
import { backoffDelay } from '../domain/gate.js';
import type { Clock, PanelClient, PanelResult } from '../domain/ports.js';
import type { Action, VmKey } from '../domain/types.js';
import type { JournalOutcome, Resolution } from '../store/outbox-journal.js';
import type { StateStore } from '../store/state-store.js';
import type { Logger } from '../util/logger.js';
import type { PanelBreaker } from './breaker.js';
import type { ActionResult, PassObserver } from './observer.js';
import { OutboxBatch } from './outbox-batch.js';

export interface ApplyDeps {
  readonly panel: PanelClient;
  readonly store: StateStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly observer: PassObserver;
  readonly breaker: PanelBreaker;
  readonly concurrency: number;
  readonly retry: { readonly baseDelayMs: number; readonly maxDelayMs: number };
  readonly random: () => number;
  readonly scrub: (text: string) => string;
}

/** How one action ended. */
export interface ActionOutcome {
  readonly key: VmKey;
  readonly kind: Action['kind'];
  readonly result: ActionResult;
  readonly panelId?: number;
  readonly message?: string;
}

export interface ApplyReport {
  readonly outcomes: readonly ActionOutcome[];
  /** The panel refused the API key: a configuration error, nothing more was sent. */
  readonly unauthorized: boolean;
  /** Actions not sent because the circuit breaker is open. */
  readonly heldByBreaker: number;
  /** Actions not sent because `stop` fired (the pass's deadline, or the daemon stopping). */
  readonly cutShort: number;
}

/** Sends actions; actions of one VM run in order, different VMs in parallel. */
export async function apply(deps: ApplyDeps, actions: readonly Action[], passId: number | null, stop: AbortSignal): Promise<ApplyReport> {
  const groups = groupByKey(actions);
  const outcomes: ActionOutcome[] = [];
  let unauthorized = false;
  let heldByBreaker = 0;
  let cutShort = 0;
  const outbox = new OutboxBatch(deps.store, passId);
  // Decided once: at 100,000 calls, building a debug line per success that is then dropped costs real time.
  const debug = deps.logger.isLevelEnabled('debug');

  const skip = (action: Action, message: string): void => {
    outcomes.push({ key: action.key, kind: action.kind, result: 'skipped', message });
    deps.observer.action(action.kind, 'skipped', 0);
  };

  const send = async (action: Action): Promise<ActionOutcome> => {
    let journaled: JournalOutcome;
    try {
      journaled = await outbox.journal(action, deps.clock.now());
    } catch (err) {
      deps.breaker.release(); // nothing was sent: a half-open probe must not stay taken
      throw err;
    }
    if ('supersededBy' in journaled) {
      deps.breaker.release();
      deps.observer.action(action.kind, 'skipped', 0);
      const panelId = action.kind === 'create' ? undefined : action.panelId;
      return { key: action.key, kind: action.kind, result: 'skipped', message: `panel #${panelId} is ${journaled.supersededBy}'s new VPS since earlier in this pass: not sent` };
    }
    const { id: outboxId, attempts } = journaled;
    const started = performance.now();
    const answer = await call(deps.panel, action);
    const seconds = (performance.now() - started) / 1000;
    const { resolution, result, panelId } = classify(action, answer);
    const now = deps.clock.now();
    const finalResolution: Resolution =
      resolution.outcome === 'failed' && resolution.failure === 'retryable'
        ? { ...resolution, nextAttemptAt: now + backoffDelay(attempts, deps.retry.baseDelayMs, deps.retry.maxDelayMs, deps.random) }
        : resolution;
    outbox.resolve(outboxId, action, finalResolution, now);
    deps.observer.action(action.kind, result, seconds);
    // Any answer from the panel itself, a 401 included, proves it is up; only silence or a
    // failing server counts against it. (A 401 probe that counted as neither left the circuit shut.)
    if (result === 'retryable' || result === 'ambiguous') deps.breaker.onFailure();
    else deps.breaker.onSuccess();
    const message = answer.ok ? undefined : deps.scrub(answer.message);
    if (debug || (result !== 'ok' && result !== 'not_found')) logOutcome(deps.logger, action, result, message, panelId);
    return { key: action.key, kind: action.kind, result, ...(panelId !== undefined ? { panelId } : {}), ...(message !== undefined ? { message } : {}) };
  };

  const runGroup = async (group: readonly Action[]): Promise<void> => {
    for (let i = 0; i < group.length; i++) {
      const action = group[i]!;
      if (stop.aborted || unauthorized) {
        if (stop.aborted) cutShort += group.length - i;
        group.slice(i).forEach((a) => skip(a, stop.aborted ? cutShortMessage(stop) : 'panel refused the API key'));
        return;
      }
      if (!deps.breaker.tryAcquire()) {
        heldByBreaker += group.length - i;
        group.slice(i).forEach((a) => skip(a, 'panel circuit breaker open'));
        return;
      }
      const outcome = await send(action);
      outcomes.push(outcome);
      if (outcome.result === 'unauthorized') unauthorized = true;
      if (outcome.result === 'not_found' && action.kind === 'update' && action.ownerConfirmed) {
        // The panel lost this VPS (restored database?): recreate it now rather than next pass — unless
        // the pass is stopping or the breaker holds calls; the next pass then plans the create.
        if (!stop.aborted && deps.breaker.tryAcquire()) {
          outcomes.push(await send({ kind: 'create', key: action.key, desired: action.desired, reason: 'missing_on_panel' }));
        }
        continue;
      }
      if (outcome.result !== 'ok' && outcome.result !== 'not_found') {
        // The rest of this VM's actions depend on this one (the old owner's VPS must go before the new one is made).
        group.slice(i + 1).forEach((a) => skip(a, `earlier ${action.kind} of ${action.key} did not succeed`));
        return;
      }
    }
  };

  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < groups.length) await runGroup(groups[next++]!);
  };
  try {
    // Every worker, not the first to fail: after a failed group commit nothing more is sent, but the
    // calls already on their way are answered and recorded before apply() returns. Returning at the
    // failure let a shutdown close the store and the panel's connections under them, and a pass
    // queued behind this one take them for calls stranded by a crash.
    const workers = await Promise.allSettled(Array.from({ length: Math.max(1, Math.min(deps.concurrency, groups.length)) }, worker));
    const failed = workers.find((w): w is PromiseRejectedResult => w.status === 'rejected');
    if (failed) throw failed.reason;
  } finally {
    outbox.close();
  }
  for (const r of deps.store.takeReassignedPanelIds()) {
    const ctx = { vm: r.key, panelId: r.panelId, formerVm: r.formerKey };
    if (r.answeredTwice) {
      deps.logger.error(ctx, `the panel answered the creates of ${r.formerKey} and ${r.key} with the same id #${r.panelId} (a panel fault): ${r.key} keeps it and ${r.formerKey} is planned afresh — check the panel for a second VPS of ${r.formerKey}'s customer`);
    } else {
      const inFlight = r.callInFlight
        ? `; the ${r.callInFlight} of ${r.formerKey} to #${r.panelId} was on its way and may have reached ${r.key}'s new VPS, so ${r.key}'s fields are sent again next pass`
        : '';
      deps.logger.warn(ctx, `the panel created ${r.key} as VPS #${r.panelId}, an id it had given ${r.formerKey}: that VPS is no longer on the panel (deleted there, or the panel's database restored), so ${r.formerKey} is planned afresh — created again if its VM is still there and billed${inFlight}`);
    }
  }
  return { outcomes, unauthorized, heldByBreaker, cutShort };
}

/** Why the rest of a pass is not sent once `stop` fired: the pass's own deadline, or the daemon stopping. */
function cutShortMessage(stop: AbortSignal): string {
  return isTimeout(stop.reason) ? 'the pass ran out of time (passTimeoutMs)' : 'shutting down';
}

/** Whether an abort reason is a deadline's (AbortSignal.timeout), not a stop's. */
export function isTimeout(reason: unknown): boolean {
  return reason instanceof Error && reason.name === 'TimeoutError';
}

function groupByKey(actions: readonly Action[]): Action[][] {
  const byKey = new Map<VmKey, Action[]>();
  for (const a of actions) {
    const list = byKey.get(a.key);
    if (list) list.push(a);
    else byKey.set(a.key, [a]);
  }
  return [...byKey.values()];
}

function call(panel: PanelClient, action: Action): Promise<PanelResult<unknown>> {
  switch (action.kind) {
    case 'create':
      return panel.create(action.desired.fields);
    case 'update':
      return panel.update(action.panelId, action.desired.fields);
    case 'delete':
      return panel.delete(action.panelId);
  }
}

/** Maps a panel answer to what the store records and what metrics count. */
export function classify(action: Action, answer: PanelResult<unknown>): { resolution: Resolution; result: ActionResult; panelId?: number } {
  if (answer.ok) {
    if (action.kind === 'create') {
      const id = (answer.value as { id: number }).id;
      return { resolution: { outcome: 'created', panelId: id }, result: 'ok', panelId: id };
    }
    return { resolution: { outcome: action.kind === 'update' ? 'updated' : 'deleted' }, result: 'ok' };
  }
  const error = `${answer.kind}: ${answer.message}`;
  switch (answer.kind) {
    case 'not_found':
      // Delete of a VPS the panel does not have: the goal is reached. Update: the panel lost it.
      return { resolution: { outcome: action.kind === 'update' ? 'vanished' : 'deleted' }, result: 'not_found' };
    case 'rejected':
      return { resolution: { outcome: 'failed', failure: 'rejected', error, nextAttemptAt: null }, result: 'rejected' };
    case 'unauthorized':
      return { resolution: { outcome: 'failed', failure: 'retryable', error, nextAttemptAt: null }, result: 'unauthorized' };
    case 'retryable':
      return { resolution: { outcome: 'failed', failure: 'retryable', error, nextAttemptAt: null }, result: 'retryable' };
    case 'ambiguous':
      // Only a create can duplicate; updates and deletes are idempotent and simply retried.
      return action.kind === 'create'
        ? { resolution: { outcome: 'ambiguous', error }, result: 'ambiguous' }
        : { resolution: { outcome: 'failed', failure: 'retryable', error, nextAttemptAt: null }, result: 'retryable' };
  }
}

function logOutcome(logger: Logger, action: Action, result: ActionResult, message: string | undefined, panelId: number | undefined): void {
  const ctx = { vm: action.key, action: action.kind, result, ...(panelId !== undefined ? { panelId } : action.kind !== 'create' ? { panelId: action.panelId } : {}) };
  switch (result) {
    case 'ok':
    case 'not_found':
      logger.debug(ctx, `${action.kind} ${action.key}: ${result}`);
      break;
    case 'ambiguous':
      logger.error(ctx, `create of ${action.key} may have reached the panel (${message ?? ''}); it will not be re-sent — check the panel and run "ospab-vps-sync resolve ${action.key}"`);
      break;
    case 'unauthorized':
      logger.error(ctx, `the panel refused the API key — fix panel.apiKey / VPS_SYNC_API_KEY (it must equal the panel's VPS_SYNC_API_KEY): ${message ?? ''}`);
      break;
    default:
      logger.warn(ctx, `${action.kind} ${action.key} failed (${result}): ${message ?? ''}`);
  }
}
