// The long-running daemon: schedules passes with croner, never lets two overlap, coalesces
// resync requests, and stops cleanly (no new pass, in-flight calls finish and are recorded).
import { DRIFT_CLASSES, PANEL_SIDE_DRIFT, type DriftClass, type DriftItem } from '../domain/types.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { endpointStatus, type DaemonControl, type DaemonStatus, type PassRequest } from './control.js';
import { countPending, runPass, storedRejectedInput, type EngineDeps, type PassReport } from './pass.js';
import { startSchedule, type Schedule } from './schedule.js';

export interface DaemonOptions {
  readonly schedule: string;
  readonly version: string;
  readonly logger: Logger;
  /**
   * A full garbage collection after a pass whose sources listed at least `minVms` VMs, once the
   * daemon has been idle for `idleMs` (default IDLE_BEFORE_COLLECT_MS): between scheduled passes it
   * returns the pass's garbage to the system, and it never delays a pass that is already waiting
   * (util/heap.ts).
   */
  readonly collectGarbage?: { readonly minVms: number; readonly collect: () => void; readonly idleMs?: number };
}

/**
 * Idle time after a large pass before the full collection. Scheduled passes are a minute or more
 * apart, so it runs well before the next one; passes asked for back to back (a resync during a
 * pass) skip it, and V8's own collections then bound the heap (100,000 VMs, 12 steady passes back
 * to back without it: peak RSS 228-258 MiB; the collection itself took 45-105 ms).
 */
export const IDLE_BEFORE_COLLECT_MS = 2_000;

interface Request {
  full: boolean;
  force: boolean;
  reasons: string[];
}

/** Runs passes on a schedule and on request. `start()` runs the first pass at once. */
export class Daemon implements DaemonControl {
  private cron: Schedule | null = null;
  private running: Promise<void> | null = null;
  private queued: Request | null = null;
  private readonly stopController = new AbortController();
  private startedAt = 0;
  private lastSuccessMs: number | null = null;
  private lastFullMs: number | null = null;
  /** Drift items of the previous pass, so each problem is logged when it appears, not every minute. */
  private previousDrift = new Set<string>();
  private idleWaiters: (() => void)[] = [];
  /** The full collection waiting for the daemon to stay idle (see DaemonOptions.collectGarbage). */
  private idleCollection: NodeJS.Timeout | null = null;

  constructor(
    private readonly deps: EngineDeps,
    private readonly options: DaemonOptions,
  ) {}

  /** Recovers from a previous crash, starts the schedule and the first pass. */
  start(): void {
    const { store, clock, logger } = this.deps;
    this.startedAt = clock.now();
    const recovered = store.recoverInFlight(clock.now());
    if (recovered.ambiguous > 0) {
      logger.error(`${recovered.ambiguous} create(s) were in flight when the daemon last stopped; they are ambiguous and will not be re-sent — see "ospab-vps-sync status" and resolve them`);
    }
    if (recovered.retried > 0) logger.warn(`${recovered.retried} update/delete call(s) were in flight when the daemon last stopped; they will be retried`);
    this.lastSuccessMs = numberOrNull(store.meta('last_success_at'));
    this.lastFullMs = numberOrNull(store.meta('last_full_resync_at'));
    this.deps.observer.successTimes(this.lastSuccessMs, this.lastFullMs);
    this.restoreGauges();
    // `protect` would drop ticks silently; we queue instead, so a slow pass is followed by exactly one more.
    this.cron = startSchedule(this.options.schedule, 'ospab-vps-sync', () => {
      this.requestPass({ full: false, reason: 'schedule' });
    });
    logger.info({ schedule: this.options.schedule, next: this.cron.nextRun()?.toISOString() ?? null }, 'daemon started');
    this.requestPass({ full: false, reason: 'start' });
  }

  /** Stops scheduling, lets the running pass finish its in-flight calls (up to `deadlineMs`), then returns. */
  async stop(deadlineMs: number): Promise<{ clean: boolean }> {
    this.cron?.stop();
    this.cron = null;
    this.queued = null;
    this.cancelIdleCollection();
    this.stopController.abort();
    if (!this.running) return { clean: true };
    let timer: NodeJS.Timeout | undefined;
    const clean = await Promise.race([
      this.running.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), deadlineMs);
      }),
    ]);
    clearTimeout(timer);
    return { clean };
  }

  /** Asks for a pass; coalesces with one already queued. */
  requestPass(options: PassRequest): { queued: boolean; coalesced: boolean } {
    if (this.stopController.signal.aborted) return { queued: false, coalesced: false };
    const force = options.force ?? false;
    if (this.queued) {
      this.queued.full ||= options.full;
      this.queued.force ||= force;
      this.queued.reasons.push(options.reason);
      return { queued: true, coalesced: true };
    }
    this.queued = { full: options.full, force, reasons: [options.reason] };
    this.cancelIdleCollection();
    if (!this.running) this.running = this.loop();
    return { queued: true, coalesced: false };
  }

  /** Resolves when no pass is running or queued (tests, `resync --local`). */
  whenIdle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  lastSuccessAtMs(): number | null {
    return this.lastSuccessMs;
  }

  status(): DaemonStatus {
    const { store } = this.deps;
    const counts = store.outboxCounts();
    const sourceRows = new Map(store.sourceStatuses().map((s) => [s.name, s]));
    const billingUp = store.meta('billing_up');
    return {
      version: this.options.version,
      startedAt: new Date(this.startedAt).toISOString(),
      passRunning: this.running !== null,
      lastSuccessAt: iso(this.lastSuccessMs),
      lastFullResyncAt: iso(this.lastFullMs),
      billing: { up: billingUp === null ? null : billingUp === '1', lastError: store.meta('billing_error') },
      sources: this.deps.sources.map((s) => {
        const row = sourceRows.get(s.name);
        return {
          name: s.name,
          kind: s.kind,
          up: row?.up ?? null,
          vms: row?.vms ?? null,
          lastError: row?.lastError ?? null,
          lastListedAt: iso(row?.lastListedAt ?? null),
          unreported: row?.unreported ?? null,
          endpoint: endpointStatus(row?.endpoint),
        };
      }),
      outbox: { pending: counts.inFlight + counts.failed, failed: counts.failed + counts.rejected, ambiguous: counts.ambiguous, ambiguousKeys: store.ambiguousKeys(100) },
      snapshot: { vps: store.vpsCount() },
      lastPasses: store.recentPasses(10),
    };
  }

  private async loop(): Promise<void> {
    let large = false;
    try {
      while (this.queued && !this.stopController.signal.aborted) {
        const request = this.queued;
        this.queued = null;
        try {
          await this.runOne(request);
          large = this.listedAtLeast(this.options.collectGarbage?.minVms);
        } catch (err) {
          // What follows a pass (its bookkeeping in the state file) failed — a disk full, say. The
          // loop goes on: escaping, it was an unhandled rejection that ended the process, and a pass
          // queued meanwhile would have kept every later request coalescing into it, never run.
          this.deps.logger.error(`after pass: ${this.deps.scrub(errorMessage(err))}`);
        }
      }
      // Scheduled once runOne() has returned: its pass report (at an initial sync, 100,000 outcomes
      // and drift items, ~30 MiB) is unreachable by then and does not survive the collection.
      if (large && !this.stopController.signal.aborted) this.collectWhenIdle();
    } finally {
      this.running = null;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      waiters.forEach((w) => w());
    }
  }

  private async runOne(request: Request): Promise<void> {
    const { logger } = this.deps;
    let report: PassReport;
    try {
      report = await runPass(this.deps, { full: request.full, force: request.force }, this.stopController.signal);
    } catch (err) {
      // runPass reports failures as values; reaching here is a bug, and the daemon must keep going.
      logger.error(`pass crashed: ${this.deps.scrub(errorMessage(err))}`);
      return;
    }
    const s = report.summary;
    if (s.result === 'success') {
      this.lastSuccessMs = this.deps.clock.now();
      if (s.full) this.lastFullMs = this.lastSuccessMs;
    } else {
      this.successNotInFuture();
    }
    this.logNewDrift(report.planned?.drift ?? []);
    const driftTotal = Object.values(s.drift).reduce((a, b) => a + b, 0);
    const line = `pass ${s.id} ${s.result}${s.full ? ' (full resync)' : ''}${request.force ? ' (forced: delete guards lifted)' : ''}: ${s.actions.ok}/${s.actions.planned} sent ok, ${s.actions.failed} failed, ${s.actions.ambiguous} ambiguous, ${driftTotal} drift item(s) in ${s.durationSeconds ?? 0}s`;
    const ctx = { pass: s.id, result: s.result, full: s.full, force: request.force, reasons: request.reasons, actions: s.actions, drift: nonZero(s.drift), durationSeconds: s.durationSeconds };
    if (s.result === 'success') logger.info(ctx, line);
    else logger.warn({ ...ctx, problems: s.problems.slice(0, 10) }, line);
  }

  /**
   * A last success later than now means the wall clock was set back since it was recorded. Left so,
   * /readyz and the VpsSyncStale alert (now minus that time) would take failing passes for fresh
   * ones until the clock caught up; the success happened no later than now, so it counts from now.
   */
  private successNotInFuture(): void {
    const { clock, store, logger, observer } = this.deps;
    const now = clock.now();
    if (this.lastSuccessMs === null || this.lastSuccessMs <= now) return;
    logger.warn(`the system clock was set back: the last successful pass is recorded at ${iso(this.lastSuccessMs)}, after now (${iso(now)}); its age is counted from now`);
    this.lastSuccessMs = now;
    store.setMeta('last_success_at', String(now));
    if (this.lastFullMs !== null && this.lastFullMs > now) {
      this.lastFullMs = now;
      store.setMeta('last_full_resync_at', String(now));
    }
    observer.successTimes(this.lastSuccessMs, this.lastFullMs);
  }

  /**
   * The drift, outbox and rejected-input gauges as the last pass that decided left them, until this
   * process's first pass decides. At 0 meanwhile, a scrape after every restart reset the `for:`
   * timers of the drift alerts (VpsSyncUnbilled's hour, say), so a daemon restarted often never
   * fired them.
   */
  private restoreGauges(): void {
    const { store, observer, sources } = this.deps;
    observer.outboxPending(countPending(store));
    // The rejected billing rows and VM entries the last observed pass counted, for the configured
    // sources only (VpsSyncRejectedInput's `for:` timer likewise survives the restart).
    const rejected = storedRejectedInput(store, sources);
    if (rejected) observer.rejectedInput(rejected);
    const last = store.recentPasses(10).find((p) => p.result === 'success' || p.result === 'partial');
    if (!last) return;
    const drift = Object.fromEntries(DRIFT_CLASSES.map((c) => [c, last.drift[c] ?? 0])) as Record<DriftClass, number>;
    observer.drift(drift);
  }

  /** Whether the sources listed at least `minVms` VMs in the last pass (false without a threshold). */
  private listedAtLeast(minVms: number | undefined): boolean {
    if (minVms === undefined) return false;
    return this.deps.store.sourceStatuses().reduce((n, s) => n + (s.vms ?? 0), 0) >= minVms;
  }

  private collectWhenIdle(): void {
    const gc = this.options.collectGarbage;
    if (!gc) return;
    this.cancelIdleCollection();
    this.idleCollection = setTimeout(() => {
      this.idleCollection = null;
      const started = performance.now();
      gc.collect();
      this.deps.logger.debug({ ms: Math.round(performance.now() - started) }, 'full garbage collection after a large pass');
    }, gc.idleMs ?? IDLE_BEFORE_COLLECT_MS);
    // Never what keeps the process alive.
    this.idleCollection.unref();
  }

  private cancelIdleCollection(): void {
    if (this.idleCollection) clearTimeout(this.idleCollection);
    this.idleCollection = null;
  }

  private logNewDrift(drift: readonly DriftItem[]): void {
    this.previousDrift = logDrift(this.deps.logger, drift, this.previousDrift);
  }
}

/**
 * Logs each drift item that is not in `previous` (one line, with its VM and billing ids) and
 * returns the set to pass next time, so a lasting problem is logged when it appears. Panel-side
 * drift is remembered only while debug lines are written: an initial sync has one such item per
 * VM, and 100,000 remembered ids held ~20 MiB until the next pass (each id a tree of
 * concatenated strings), for lines nobody would see.
 */
export function logDrift(logger: Logger, drift: readonly DriftItem[], previous: ReadonlySet<string> = new Set()): Set<string> {
  const current = new Set<string>();
  const debug = logger.isLevelEnabled('debug');
  for (const d of drift) {
    const needsOperator = !PANEL_SIDE_DRIFT.has(d.class);
    if (!needsOperator && !debug) continue;
    const id = `${d.class}|${d.key ?? ''}|${d.billingId ?? ''}|${d.panelId ?? ''}`;
    current.add(id);
    if (previous.has(id)) continue;
    const ctx = { drift: d.class, vm: d.key, panelId: d.panelId, billingId: d.billingId, userId: d.userId };
    if (needsOperator) logger.warn(ctx, d.detail);
    else logger.debug(ctx, d.detail);
  }
  return current;
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function numberOrNull(v: string | null): number | null {
  if (v === null) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

function nonZero(counts: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
}
