// One pass: observe → desired → plan → guards → gate → apply → record.
// Level-triggered: every pass recomputes everything from the hypervisors, billing and the
// snapshot, so a call that failed is simply still a difference next time.
import { desired, type DesiredState } from '../domain/desired.js';
import { gate, mootItems, unconfirmedDeletes, unconfirmedUpdates, type GateResult } from '../domain/gate.js';
import { guards, type GuardResult, type GuardSettings } from '../domain/guards.js';
import { plan, type PlanResult } from '../domain/plan.js';
import type { BillingSource, Clock, ListOptions, PanelClient, VmSource } from '../domain/ports.js';
import { DRIFT_CLASSES, PANEL_SIDE_DRIFT, parseVmKey, type Action, type DriftClass, type DriftItem, type OutboxItem, type SnapshotEntry, type VmKey } from '../domain/types.js';
import type { StateStore } from '../store/state-store.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { apply, isTimeout, type ApplyReport } from './apply.js';
import type { PanelBreaker } from './breaker.js';
import type { PassSummary } from './control.js';
import { observe, type Observation } from './observe.js';
import type { PassObserver, PassResult, RejectedInputCounts } from './observer.js';
import { unreportedByNode } from './unreported.js';

export interface EngineSettings {
  readonly guards: GuardSettings;
  readonly retry: { readonly baseDelayMs: number; readonly maxDelayMs: number };
  readonly concurrency: number;
  readonly passTimeoutMs: number;
}

export interface EngineDeps {
  readonly sources: readonly VmSource[];
  readonly billing: BillingSource;
  readonly panel: PanelClient;
  readonly store: StateStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly observer: PassObserver;
  readonly breaker: PanelBreaker;
  readonly random: () => number;
  readonly scrub: (text: string) => string;
  readonly settings: EngineSettings;
}

export interface PassOptions {
  /** Full resync: re-send every desired VPS. */
  readonly full?: boolean;
  /** Lift the delete count/fraction limits for this pass. */
  readonly force?: boolean;
}

/** Everything a pass decided before sending anything (what `plan` prints). */
export interface PlannedPass {
  readonly observation: Observation;
  readonly state: DesiredState;
  readonly plan: PlanResult;
  readonly guarded: GuardResult;
  readonly gated: GateResult;
  /** Every drift item of the pass (billing-side, panel-side, held deletes, ambiguous). */
  readonly drift: readonly DriftItem[];
  readonly driftCounts: Readonly<Record<DriftClass, number>>;
  /** Rejected items and failed observations, one line each. */
  readonly problems: readonly string[];
  /**
   * How many of `problems` are rejected input items (a billing row, a VM entry that failed
   * validation): reported there, but they do not make a pass partial (see passResult()).
   */
  readonly rejectedItems: number;
}

export interface PassReport {
  readonly summary: PassSummary;
  /**
   * The pass's drift items to log (null when it failed before deciding): panel-side drift only
   * when debug lines are written (see logDrift()); `summary.drift` counts them all.
   */
  readonly planned: { readonly drift: readonly DriftItem[] } | null;
  readonly applied: ApplyReport | null;
}

/** Composes the pure core over one observation. */
export function decide(
  observation: Observation,
  sources: ReadonlyArray<{ name: string; kind: 'proxmox' | 'vmware' }>,
  snapshot: readonly SnapshotEntry[],
  open: readonly OutboxItem[],
  settings: Pick<EngineSettings, 'guards' | 'retry'>,
  options: PassOptions,
  now: number,
): PlannedPass {
  const state = desired({ sources, listings: observation.listings, billing: observation.billing });
  const planned = plan({ state, snapshot, full: options.full ?? false, unconfirmedDeletes: unconfirmedDeletes(open), unconfirmedUpdates: unconfirmedUpdates(open) });
  const guarded = guards({ actions: planned.actions, snapshot, missingPasses: planned.missingPasses, settings: settings.guards, force: options.force ?? false });
  const gated = gate({ actions: guarded.actions, open, now, maxBackoffMs: settings.retry.maxDelayMs, full: options.full ?? false });
  const drift = [...state.drift, ...withoutAmbiguousCreates(planned.drift, gated.drift), ...guarded.drift, ...gated.drift];
  const driftCounts = Object.fromEntries(DRIFT_CLASSES.map((c) => [c, 0])) as Record<DriftClass, number>;
  for (const d of drift) driftCounts[d.class]++;
  const problems: string[] = [];
  for (const l of observation.listings) {
    if (!l.ok) problems.push(`source ${l.source} unknown: ${l.error}`);
    else for (const r of l.rejected) problems.push(`rejected ${r.where}: ${r.problem}`);
  }
  if (!observation.billing.ok) problems.push(`billing unavailable: ${observation.billing.error}`);
  else for (const r of observation.billing.rejected) problems.push(`rejected ${r.where}: ${r.problem}`);
  const rejected = rejectedInputCounts(observation);
  const rejectedItems = Object.values(rejected.sources).reduce((sum, n) => sum + n, rejected.billing ?? 0);
  const backingOff = gated.skipped.filter((s) => s.waitsFor === 'retry').length;
  if (backingOff > 0) problems.push(`${backingOff} action(s) not sent: backing off after failed panel calls (see "ospab-vps-sync status")`);
  return { observation, state, plan: planned, guarded, gated, drift, driftCounts, problems, rejectedItems };
}

/** What each input that answered this pass rejected (the `vpssync_rejected_input` gauge). */
function rejectedInputCounts(observation: Observation): RejectedInputCounts {
  const sources: Record<string, number> = {};
  for (const l of observation.listings) if (l.ok) sources[l.source] = l.rejected.length;
  return { ...(observation.billing.ok ? { billing: observation.billing.rejected.length } : {}), sources };
}

/**
 * A VM whose create is ambiguous is reported as `ambiguous` (waiting for "resolve"), not also as
 * `missing_on_panel`, which counts towards the drift the daemon fixes by itself (VpsSyncDrift).
 */
function withoutAmbiguousCreates(planDrift: readonly DriftItem[], gateDrift: readonly DriftItem[]): readonly DriftItem[] {
  if (gateDrift.length === 0) return planDrift;
  const ambiguous = new Set(gateDrift.filter((d) => d.class === 'ambiguous').map((d) => d.key));
  return planDrift.filter((d) => !(d.class === 'missing_on_panel' && d.key !== undefined && ambiguous.has(d.key)));
}

/** A full resync trusts no cache: the sources re-read what they keep between passes. */
function listOptions(options: PassOptions): ListOptions {
  return { fresh: options.full ?? false };
}

/** Observes and decides without writing anything (the `plan` command). */
export async function dryRun(deps: Omit<EngineDeps, 'panel' | 'breaker'>, options: PassOptions, signal: AbortSignal): Promise<PlannedPass> {
  const observation = await observe(deps, signal, listOptions(options));
  return decide(observation, deps.sources.map((s) => ({ name: s.name, kind: s.kind })), deps.store.snapshot(), deps.store.openOutbox(), deps.settings, options, deps.clock.now());
}

/** Runs one full pass and records it. Never throws: a failure is a `failed` pass. */
export async function runPass(deps: EngineDeps, options: PassOptions, stop: AbortSignal): Promise<PassReport> {
  const startedAt = deps.clock.now();
  const started = performance.now();
  const full = options.full ?? false;
  const passId = deps.store.startPass(startedAt, full);
  const timeout = AbortSignal.timeout(deps.settings.passTimeoutMs);
  const signal = AbortSignal.any([stop, timeout]);
  let decided: DecidedPass | null = null;
  let applied: ApplyReport | null = null;
  let result: PassResult;
  const problems: string[] = [];
  try {
    problems.push(...recoverStranded(deps));
    decided = await observeAndDecide(deps, options, signal, stop);
    problems.push(...decided.problems);
    deps.store.setMissingPasses(decided.missingPasses);
    deps.observer.drift(decided.driftCounts);
    for (const s of decided.skipped) deps.logger.debug({ vm: s.action.key, action: s.action.kind }, `not sent: ${s.why}`);
    applied = await apply({ ...deps, concurrency: deps.settings.concurrency, retry: deps.settings.retry }, decided.send, passId, signal);
    closeMootItems(deps, decided);
    if (applied.unauthorized) problems.push('the panel refused the API key (401): fix panel.apiKey / VPS_SYNC_API_KEY');
    if (applied.heldByBreaker > 0) problems.push(`${applied.heldByBreaker} action(s) held: the panel keeps failing (circuit breaker open)`);
    if (applied.cutShort > 0) {
      // Otherwise they only show as "failed" actions with no word of why (nothing failed: they were never sent).
      const why = isTimeout(signal.reason) ? `the pass ran out of time (passTimeoutMs ${deps.settings.passTimeoutMs} ms)` : 'the daemon is stopping';
      problems.push(`${applied.cutShort} action(s) not sent: ${why}; the next pass sends them`);
    }
    result = passResult(decided, applied, problems);
  } catch (err) {
    // Only our own machinery throws here (the state file, a bug): observe() and apply() report external failures as values.
    const message = deps.scrub(errorMessage(err));
    deps.logger.error({ err: message }, `pass ${passId} failed: ${message}`);
    problems.push(message);
    result = 'failed';
  }
  const finishedAt = deps.clock.now();
  const durationSeconds = (performance.now() - started) / 1000;
  const summary = summarize(passId, startedAt, finishedAt, durationSeconds, full, result, decided, applied, problems);
  try {
    deps.store.finishPass(passId, finishedAt, summary);
    deps.observer.outboxPending(countPending(deps.store));
  } catch (err) {
    deps.logger.error(`cannot record pass ${passId}: ${deps.scrub(errorMessage(err))}`);
  }
  deps.observer.passFinished(result, durationSeconds, full, finishedAt);
  return { summary, planned: decided === null ? null : { drift: decided.drift }, applied };
}

/**
 * What a pass keeps of its decision while it sends. Only this outlives observeAndDecide(): the
 * listings, billing rows and desired state (100,000 of each at hosting scale) become garbage
 * before the first call goes out, instead of being held through minutes of sending.
 */
interface DecidedPass {
  readonly send: readonly Action[];
  readonly skipped: GateResult['skipped'];
  /** Every action planned before guards and gate (for closing moot outbox items). */
  readonly plannedActions: readonly Action[];
  readonly missingPasses: PlanResult['missingPasses'];
  /** The drift items to log (see PassReport.planned); driftCounts counts them all. */
  readonly drift: readonly DriftItem[];
  readonly driftCounts: Readonly<Record<DriftClass, number>>;
  readonly problems: readonly string[];
  /** How many of `problems` are rejected input items (see PlannedPass.rejectedItems). */
  readonly rejectedItems: number;
  /** Whether every source failed to list. */
  readonly nothingListed: boolean;
  readonly settled: (key: VmKey) => boolean;
}

async function observeAndDecide(deps: EngineDeps, options: PassOptions, signal: AbortSignal, stop: AbortSignal): Promise<DecidedPass> {
  const observation = await observe(deps, signal, listOptions(options));
  recordObservation(deps, observation, stop.aborted);
  const planned = decide(
    observation,
    deps.sources.map((s) => ({ name: s.name, kind: s.kind })),
    deps.store.snapshot(),
    deps.store.openOutbox(),
    deps.settings,
    options,
    deps.clock.now(),
  );
  const { billingUp, listedSources, unknownSources, unknownVms, unreadableSources } = planned.state;
  return {
    send: planned.gated.send,
    skipped: planned.gated.skipped,
    plannedActions: planned.plan.actions,
    missingPasses: planned.plan.missingPasses,
    // Kept while sending, so only what will be logged: at an initial sync the panel-side drift is
    // one item per VM (~25 MiB of them at 100,000 VMs), and logDrift() writes those at debug level only.
    drift: deps.logger.isLevelEnabled('debug') ? planned.drift : planned.drift.filter((d) => !PANEL_SIDE_DRIFT.has(d.class)),
    driftCounts: planned.driftCounts,
    problems: planned.problems,
    rejectedItems: planned.rejectedItems,
    nothingListed: observation.listings.length > 0 && observation.listings.every((l) => !l.ok),
    // A pass saw this VM's source and the billing well enough that its plan for the VM is complete.
    settled: (key) => {
      const { source } = parseVmKey(key);
      return billingUp && listedSources.has(source) && !unknownSources.has(source) && !unreadableSources.has(source) && !unknownVms.has(key);
    },
  };
}

/**
 * No call is in flight between two passes (apply waits for every answer), so an in-flight item at
 * the start of one was stranded: the answer came, but the transaction recording it failed (disk
 * full, a lock held past the busy timeout). The gate only knows failed and ambiguous items, so left
 * in flight it would be planned and sent again — for a create, a second VPS. Recovered exactly as
 * after a crash: a create becomes ambiguous, an update or delete is retried.
 */
function recoverStranded(deps: EngineDeps): string[] {
  const stranded = deps.store.recoverInFlight(deps.clock.now(), 'unrecorded');
  if (stranded.retried > 0) deps.logger.warn(`${stranded.retried} update/delete call(s) had no recorded outcome; they will be retried`);
  if (stranded.ambiguous === 0) return [];
  const problem = `${stranded.ambiguous} create(s) were answered but their outcome could not be recorded; they are ambiguous and will not be re-sent — see "ospab-vps-sync status" and resolve them`;
  deps.logger.error(problem);
  // New news for a person: this pass is not a success (later ones are: the items are then drift).
  return [problem];
}

/** Closes failed outbox items nothing will send again (see `mootItems()`), so they do not show as pending forever. */
function closeMootItems(deps: EngineDeps, decided: DecidedPass): void {
  const open = deps.store.openOutbox();
  if (!open.some((i) => i.state === 'failed')) return;
  const now = deps.clock.now();
  for (const item of mootItems({ open, snapshot: deps.store.snapshot(), planned: decided.plannedActions, settled: decided.settled })) {
    // 'vanished' marks it done; its snapshot write matches nothing (no entry has this panel id, or a create has none).
    deps.store.resolve(item.id, { outcome: 'vanished' }, now);
    deps.logger.debug({ vm: item.key, action: item.kind, panelId: item.panelId }, `${item.kind} of ${item.key} is no longer needed; closed`);
  }
}

/** Outbox calls waiting to be sent or answered (the `vpssync_outbox_pending` gauge). */
export function countPending(store: StateStore): number {
  const c = store.outboxCounts();
  return c.inFlight + c.failed;
}

/**
 * Records how each source and the billing answered. `stopping`: the daemon is stopping, so a
 * listing or query that failed was most likely cut short by that, not by the system it asked — it
 * is not recorded, or `status` after the restart would show those systems down until the next pass.
 */
function recordObservation(deps: EngineDeps, observation: Observation, stopping: boolean): void {
  const now = deps.clock.now();
  for (const source of deps.sources) {
    const l = observation.listings.find((x) => x.source === source.name);
    if (!l || (!l.ok && stopping)) continue;
    deps.store.recordSource({
      name: source.name,
      kind: source.kind,
      up: l.ok,
      vms: l.ok ? l.vms.length : null,
      lastError: l.ok ? null : l.error,
      lastListedAt: now,
      unreported: l.ok && l.unreported && l.unreported.length > 0 ? { vms: l.unreported.length, nodes: Object.fromEntries(unreportedByNode(l.unreported)) } : null,
      // A failed listing had no endpoint that answered: the one before it is no longer news.
      endpoint: l.ok ? (l.endpoint ?? null) : null,
    });
  }
  recordRejectedInput(deps, observation);
  if (!observation.billing.ok && stopping) return;
  deps.store.setMeta('billing_up', observation.billing.ok ? '1' : '0');
  deps.store.setMeta('billing_error', observation.billing.ok ? null : observation.billing.error);
}

/** The state file's record of the last rejected input counts (restored at start: Daemon.restoreGauges()). */
const REJECTED_INPUT_META = 'rejected_input';

/**
 * Reports what each input that answered rejected, and keeps it in the state file: a restarted
 * daemon exports these counts until its first pass has read the inputs again, as for the drift
 * gauges, so a restart does not reset VpsSyncRejectedInput's `for:` timer. An input that did not
 * answer keeps its last count there too; a source no longer configured is dropped.
 */
function recordRejectedInput(deps: EngineDeps, observation: Observation): void {
  const counts = rejectedInputCounts(observation);
  deps.observer.rejectedInput(counts);
  const last = storedRejectedInput(deps.store, deps.sources);
  const sources = { ...last?.sources, ...counts.sources };
  const billing = counts.billing ?? last?.billing;
  deps.store.setMeta(REJECTED_INPUT_META, JSON.stringify({ ...(billing === undefined ? {} : { billing }), sources }));
}

/**
 * The rejected input counts the last observed pass recorded, for the `configured` sources only (null:
 * none yet, or unreadable).
 */
export function storedRejectedInput(store: Pick<StateStore, 'meta'>, configured: ReadonlyArray<{ readonly name: string }>): RejectedInputCounts | null {
  const text = store.meta(REJECTED_INPUT_META);
  if (text === null) return null;
  try {
    const v = JSON.parse(text) as { billing?: unknown; sources?: unknown };
    const count = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0;
    if (typeof v !== 'object' || v === null || typeof v.sources !== 'object' || v.sources === null) return null;
    const names = new Set(configured.map((c) => c.name));
    const sources = Object.fromEntries(Object.entries(v.sources).filter((e): e is [string, number] => names.has(e[0]) && count(e[1])));
    return { ...(count(v.billing) ? { billing: v.billing } : {}), sources };
  } catch {
    return null; // a gauge restored at start is not worth failing the start over
  }
}

/** `problems`: everything the pass found wrong (its observation's, recovered calls', the panel's). */
function passResult(decided: DecidedPass, applied: ApplyReport, problems: readonly string[]): PassResult {
  if (applied.unauthorized) return 'failed';
  if (decided.nothingListed) return 'failed';
  // Actions the gate holds for an operator (an ambiguous create, a rejected payload) are drift with
  // alerts of their own, like held deletes; counted here they would fail every later pass — and
  // /readyz and VpsSyncStale with them — for one VM. Actions backing off are in `problems`.
  // Rejected input (a billing row or a VM entry that fails validation) is in `problems` too (status,
  // plan), but not counted: it is logged each pass and has a gauge (vpssync_rejected_input) and an
  // alert (VpsSyncRejectedInput) of its own, and the pass did all it could with the rest — what an
  // item describes is left as it is, never deleted, like a guest listed without a state. Counted,
  // one bad row kept every pass partial: /readyz failed and VpsSyncStale paged, naming nothing.
  const incomplete =
    problems.length > decided.rejectedItems ||
    applied.outcomes.some((o) => o.result !== 'ok' && o.result !== 'not_found');
  return incomplete ? 'partial' : 'success';
}

function summarize(
  id: number,
  startedAt: number,
  finishedAt: number,
  durationSeconds: number,
  full: boolean,
  result: PassResult,
  decided: DecidedPass | null,
  applied: ApplyReport | null,
  problems: readonly string[],
): PassSummary {
  const outcomes = applied?.outcomes ?? [];
  const emptyDrift = Object.fromEntries(DRIFT_CLASSES.map((c) => [c, 0])) as Record<DriftClass, number>;
  return {
    id,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date(finishedAt).toISOString(),
    result,
    full,
    durationSeconds: Math.round(durationSeconds * 1000) / 1000,
    actions: {
      planned: decided?.send.length ?? 0,
      ok: outcomes.filter((o) => o.result === 'ok' || o.result === 'not_found').length,
      failed: outcomes.filter((o) => o.result !== 'ok' && o.result !== 'not_found' && o.result !== 'ambiguous').length,
      ambiguous: outcomes.filter((o) => o.result === 'ambiguous').length,
    },
    drift: decided?.driftCounts ?? emptyDrift,
    // Bounded: /status must stay small even when thousands of rows are rejected.
    problems: problems.length > 50 ? [...problems.slice(0, 50), `… and ${problems.length - 50} more`] : [...problems],
  };
}
