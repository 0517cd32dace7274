// What the engine reports while it works. The Prometheus metrics implement this; tests and
// the CLI may pass a no-op. Keeping it an interface keeps prom-client out of the engine.
import type { ActionKind, DriftClass, VmPower } from '../domain/types.js';

/** How one panel call ended, as counted in `vpssync_actions_total{result}`. */
export type ActionResult = 'ok' | 'rejected' | 'unauthorized' | 'not_found' | 'retryable' | 'ambiguous' | 'skipped';

export type PassResult = 'success' | 'partial' | 'failed';

/** What a successful listing found, for the source's gauges. */
export interface ListedCounts {
  readonly vmsByPower: Readonly<Record<VmPower, number>>;
  /** Guests listed without a state (a Proxmox node offline, an ESXi host vCenter has lost). */
  readonly unreported: number;
  /** Listed through one of the source's fallback endpoints: the node at its `url` is not answering. */
  readonly fallback: boolean;
}

/**
 * Input items that failed validation and were skipped (reported, never acted on): the rows the
 * billing query returned and each source's VM entries. Only what was read this time: an input
 * absent here (its listing or query failed) keeps its last count — unknown, not clean.
 */
export interface RejectedInputCounts {
  readonly billing?: number;
  readonly sources: Readonly<Record<string, number>>;
}

/** Receives the engine's measurements. Every method must be cheap and must not throw. */
export interface PassObserver {
  /** A source was listed (ok, with what it found) or failed. */
  sourceListed(source: string, ok: boolean, durationSeconds: number, listed?: ListedCounts): void;
  billingQueried(ok: boolean, durationSeconds: number): void;
  /**
   * Rejected input items of the pass just observed (`vpssync_rejected_input`); at start, as the
   * state file recorded them, so a restart does not reset the alert's `for:` timer.
   */
  rejectedInput(counts: RejectedInputCounts): void;
  /** The drift of the pass just planned, one count per class (every class present, 0 when none). */
  drift(counts: Readonly<Record<DriftClass, number>>): void;
  /** One panel call finished. */
  action(kind: ActionKind, result: ActionResult, durationSeconds: number): void;
  /** Outbox items not yet done (failed-retryable + pending + in-flight) after the pass. */
  outboxPending(count: number): void;
  /**
   * The recorded success times: at start from the state file (so a restart does not look like a
   * stale sync), and again when a clock set back left them in the future.
   */
  successTimes(lastSuccessAtMs: number | null, lastFullResyncAtMs: number | null): void;
  /** A pass finished; `finishedAtMs` is the wall clock at its end. */
  passFinished(result: PassResult, durationSeconds: number, full: boolean, finishedAtMs: number): void;
}

/** An observer that drops everything (one-off CLI commands). */
export const nullObserver: PassObserver = {
  sourceListed() {},
  billingQueried() {},
  rejectedInput() {},
  drift() {},
  action() {},
  outboxPending() {},
  successTimes() {},
  passFinished() {},
};
