// Command-line options of `npm run bench`.
import { parseArgs } from 'node:util';

export interface BenchArgs {
  readonly sizes: readonly number[];
  /** Where RESULTS.md is written; null to only print. */
  readonly out: string | null;
  /** panel.concurrency for the daemon and the load generators; undefined = the config default. */
  readonly concurrency: number | undefined;
  readonly vsphere: boolean;
  /** Steady passes measured per size (the median is reported). */
  readonly repeats: number;
  /**
   * (panel ceiling, initial sync) pairs per size: each initial sync runs on a fresh state file in a
   * new daemon process right after its own ceiling measurement; the median pair ratio is reported.
   */
  readonly initialRepeats: number;
  /** Extra Node flags for the daemon worker, e.g. `--cpu-prof --cpu-prof-dir=prof`. */
  readonly daemonNodeArgs: readonly string[];
  /** Write one CPU profile per measured pass (node:inspector, inside the daemon process) into this directory. */
  readonly profileDir: string | null;
  /** With profileDir: also a heap snapshot after each pass (large files; for finding what a pass keeps). */
  readonly heapSnapshots: boolean;
  /** Idle time before each measured pass after the first, as between scheduled passes (the daemon runs one a minute by default). */
  readonly pauseMs: number;
  /** Skip the panel-ceiling measurement (faster iterations while profiling; the report shows n/a). */
  readonly noCeiling: boolean;
  /** Before each size, wait up to 3 minutes for the 1-minute load average to drop below this (0 = do not wait). */
  readonly quietLoad: number;
  /** The panel simulator waits this long before answering each sync call (0 = as fast as it can; a real panel takes milliseconds). */
  readonly panelLatencyMs: number;
  /** Keep the working directory (state, billing DB, logs) for inspection. */
  readonly keep: boolean;
}

/** The usage text printed on a bad option. */
export const USAGE = `usage: npm run bench -- [--sizes 1000,10000,100000] [--out bench/RESULTS.md | --no-write]
                        [--concurrency N] [--no-vsphere] [--repeats 5] [--initial-repeats 3] [--daemon-node-args=--cpu-prof] [--profile-dir DIR [--heap-snapshots]] [--no-ceiling] [--panel-latency-ms 0] [--pause-ms 0] [--quiet-load 1.5] [--keep]`;

/** Parses the options (throws with the usage on a bad one). */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      sizes: { type: 'string', default: '1000,10000,100000' },
      out: { type: 'string', default: 'bench/RESULTS.md' },
      'no-write': { type: 'boolean', default: false },
      concurrency: { type: 'string' },
      'no-vsphere': { type: 'boolean', default: false },
      repeats: { type: 'string', default: '5' },
      'initial-repeats': { type: 'string', default: '3' },
      'daemon-node-args': { type: 'string', default: '' },
      keep: { type: 'boolean', default: false },
      'profile-dir': { type: 'string' },
      'no-ceiling': { type: 'boolean', default: false },
      'heap-snapshots': { type: 'boolean', default: false },
      'pause-ms': { type: 'string', default: '0' },
      'panel-latency-ms': { type: 'string', default: '0' },
      'quiet-load': { type: 'string', default: '1.5' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) throw new Error(USAGE);
  const sizes = values.sizes.split(',').map((s) => Number(s.trim().replace(/_/g, '')));
  if (sizes.some((n) => !Number.isInteger(n) || n < 10 || n > 1_000_000)) throw new Error(`--sizes must be integers from 10 to 1000000\n${USAGE}`);
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256)) throw new Error(`--concurrency must be 1..256\n${USAGE}`);
  if (!Number.isFinite(Number(values['quiet-load'])) || Number(values['quiet-load']) < 0) throw new Error(`--quiet-load must be a non-negative number\n${USAGE}`);
  if (!/^\d+$/.test(values['pause-ms'])) throw new Error(`--pause-ms must be a number of milliseconds\n${USAGE}`);
  if (!/^\d+$/.test(values['panel-latency-ms']) || Number(values['panel-latency-ms']) > 1000) throw new Error(`--panel-latency-ms must be 0..1000 milliseconds\n${USAGE}`);
  const repeats = Number(values.repeats);
  if (!Number.isInteger(repeats) || repeats < 1 || repeats > 20) throw new Error(`--repeats must be 1..20\n${USAGE}`);
  const initialRepeats = Number(values['initial-repeats']);
  if (!Number.isInteger(initialRepeats) || initialRepeats < 1 || initialRepeats > 10) throw new Error(`--initial-repeats must be 1..10\n${USAGE}`);
  return {
    sizes,
    out: values['no-write'] ? null : values.out,
    concurrency,
    vsphere: !values['no-vsphere'],
    repeats,
    initialRepeats,
    daemonNodeArgs: values['daemon-node-args'].split(' ').filter((a) => a !== ''),
    keep: values.keep,
    profileDir: values['profile-dir'] ?? null,
    heapSnapshots: values['heap-snapshots'],
    noCeiling: values['no-ceiling'],
    pauseMs: Number(values['pause-ms']),
    panelLatencyMs: Number(values['panel-latency-ms']),
    quietLoad: Number(values['quiet-load']),
  };
}
