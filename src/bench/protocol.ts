// The messages between the benchmark and its daemon worker process.
import type { PassSummary } from '../engine/control.js';

/** Run one pass (the first request starts the daemon, whose first pass is the initial sync). */
export interface PassRequest {
  readonly full?: boolean;
  /** Write a CPU profile of this pass alone (node:inspector) to this .cpuprofile file. */
  readonly profile?: string;
  /** Write a heap snapshot taken right after this pass to this .heapsnapshot file. */
  readonly heapSnapshot?: string;
}

/** What the worker measured about one pass, from inside its own process. */
export interface PassMeasurement {
  /** From asking for the pass until the daemon was idle again. */
  readonly wallMs: number;
  readonly cpuUserMs: number;
  readonly cpuSystemMs: number;
  /** Highest RSS during this pass (VmHWM after a reset); NaN where the kernel cannot reset it. */
  readonly peakRssMiB: number;
  readonly rssAfterMiB: number;
  /** The largest RSS seen by a 25 ms sampler during the pass, with the V8 heap and off-heap memory at that moment (MiB). */
  readonly sampledPeak: { readonly rss: number; readonly heapTotal: number; readonly heapUsed: number; readonly external: number };
  /** V8 heap in use right after the pass (before any idle-time GC). */
  readonly heapUsedAfterMiB: number;
  /** V8 heap still reachable after the pass (after a full GC); null unless the worker runs with --expose-gc. */
  readonly liveHeapAfterMiB: number | null;
  /** The process's peak RSS over its whole life (getrusage). */
  readonly processPeakRssMiB: number;
  /** From the request until the plan was made (observe + decide). */
  readonly observeAndPlanMs: number;
  /** From the plan to the end of the pass: sending the actions (apply) and recording the pass. */
  readonly applyMs: number;
  /** The sending phase alone (from the plan to the end of the pass). */
  readonly sending: SendingMeasurement;
  /** Billing queries the engine ran (listRecords calls). */
  readonly billingQueries: number;
  /** Source listings the engine ran. */
  readonly listings: number;
  readonly summary: PassSummary;
}

/** What the daemon spent while sending a pass's actions. */
export interface SendingMeasurement {
  /** CPU time (user+sys, all threads) from the plan to the end of the pass. */
  readonly cpuMs: number;
  /** Share of that time the event loop was busy (not waiting for I/O): below 1, the daemon waited on the panel. */
  readonly eventLoopBusy: number;
  /** Actions finished in this pass (sent or skipped). */
  readonly actions: number;
  /**
   * From the end of action number GENERATOR_WARMUP_CREATES to the end of the pass: the same
   * warm-up the ceiling's load generator gets before it measures. Null for smaller passes.
   */
  readonly afterWarmup: { readonly actions: number; readonly ms: number; readonly cpuMs: number } | null;
}
