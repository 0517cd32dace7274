// How far V8 lets the heap grow between full collections, for a process that runs passes.
//
// V8 sizes the old generation from the live set after each full GC and, when collections look
// cheap next to the work done (they do, for a daemon that waits most of the time), lets it grow to
// up to 4x that before collecting again. A pass at 100,000 VMs allocates a few hundred MB that are
// garbage when it ends (listings, billing rows, the desired state), so with the default the
// resident size climbs to ~3x what the pass actually holds at once. Capping the growth factor makes
// V8 collect sooner. The young generation is capped too (16 MiB semi-spaces by default; 8 is
// plenty for a pass's short-lived garbage), but that size is fixed when V8 starts, so it is a
// command-line flag: the executable's shebang, the systemd unit and the Dockerfile pass
// DAEMON_NODE_FLAGS (a test keeps them in step). What both cost and save at 100,000 VMs is measured
// by `npm run bench` (bench/README.md): steady-pass peak RSS ~470-720 → ~250-280 MiB.
//
// Even capped, V8 starts a full collection only when the old generation reaches its limit, so a
// pass's garbage (promoted during the pass) can stay resident until the next pass runs. The daemon
// therefore collects once after a large pass (fullCollector) when it has stayed idle for a moment
// (Daemon, IDLE_BEFORE_COLLECT_MS): between scheduled passes the next one starts from the ~60 MiB
// that is really live. Passes asked for back to back skip it: once a steady pass stopped building
// a desired VPS per VM, V8's own collections kept 12 back-to-back passes at 100,000 VMs at
// 228-258 MiB (the collection used to cost ~0.1 s per pass there; before that change such passes
// peaked at up to 300 MiB without it).
import { setFlagsFromString } from 'node:v8';
import type { Worker } from 'node:worker_threads';
import { runInNewContext } from 'node:vm';

/**
 * The old generation may grow by this percentage of the live set between full collections. Tried
 * again once a steady pass allocated less (100,000 VMs, full benchmark runs): 30% cut a steady
 * pass's CPU ~15-20% but raised the peak from 245-253 to 267 MiB; memory headroom under the 300 MB
 * target is worth more to a daemon beside the hypervisors than ~0.2 s per pass.
 */
export const HEAP_GROWING_PERCENT = 20;

/** Node flags the daemon is started with wherever we start it (shebang, systemd unit, Dockerfile, benchmark). */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];

/**
 * Environment the daemon is started with, wherever we start it (the same places as DAEMON_NODE_FLAGS).
 *
 * glibc's malloc serves a block above its mmap threshold (128 KiB at start) with its own mapping,
 * returned to the kernel when freed — but each such free raises the threshold to that block's
 * size (up to 32 MiB), and from then on blocks that large come from the heap arenas, which keep
 * their pages after a free. A pass frees multi-MiB blocks (V8's serialisation of the billing
 * thread's answer, HTTP bodies, SQLite and compiler scratch), so the threshold climbs and the
 * arenas keep what the pass no longer holds. Fixing the threshold (which also stops it from moving)
 * keeps those blocks out of the arenas: at 100,000 VMs the peak RSS of a pass is 8-14 MiB lower
 * (10,000 VMs: 7-17 MiB) with no change in pass time (bench/README.md). The variable is read by
 * glibc when the process starts, so it cannot be set from inside; other C libraries ignore it.
 */
export const DAEMON_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' };

/** Applies the growth cap to this process (V8 reads the flag at every full collection). Process-wide: call it once, at the start of `run` or `once`. */
export function limitHeapGrowth(percent: number = HEAP_GROWING_PERCENT): void {
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/** Passes that read at least this many VMs are followed by a full collection once the daemon is idle (~50-100 ms at 100,000 VMs, ~5 ms at 10,000). */
export const COLLECT_AFTER_VMS = 10_000;

/**
 * A function that runs a full garbage collection now, or null where V8 refuses. `--expose-gc` is
 * set for contexts created from here on and the function is taken from a fresh one, so the
 * daemon's own global scope gets no `gc`. Process-wide flag: call it once, at the start of `run`.
 */
export function fullCollector(): (() => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? () => void (gc as () => void)() : null;
  } catch {
    return null;
  }
}

/**
 * Creates a worker thread whose young generation uses `mib` MiB semi-spaces. A worker's
 * `resourceLimits.maxYoungGenerationSizeMb` is ignored once `--max-semi-space-size` is on the
 * command line (the daemon's is: DAEMON_NODE_FLAGS), so the flag itself is set while the worker's
 * V8 instance is created and put back once it runs. The flag is read only when a V8 instance is
 * created: this thread's heap is not affected (test/util/heap.test.ts checks both).
 */
export function withSemiSpace<W extends Worker>(mib: number, create: () => W): W {
  const before = process.execArgv.map((a) => /^--max-semi-space-size=(\d+)$/.exec(a)?.[1]).find((v) => v !== undefined) ?? '0';
  setFlagsFromString(`--max-semi-space-size=${mib}`);
  let worker: W;
  try {
    worker = create();
  } catch (err) {
    setFlagsFromString(`--max-semi-space-size=${before}`);
    throw err;
  }
  let restored = false;
  const restore = (): void => {
    if (restored) return;
    restored = true;
    setFlagsFromString(`--max-semi-space-size=${before}`);
  };
  worker.once('online', restore);
  worker.once('error', restore);
  worker.once('exit', restore);
  return worker;
}
