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
import { setFlagsFromString } from 'node:v8';

/** The old generation may grow by this percentage of the live set between full collections. */
export const HEAP_GROWING_PERCENT = 20;

/** Node flags the daemon is started with wherever we start it (shebang, systemd unit, Dockerfile, benchmark). */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];

/** Applies the growth cap to this process (V8 reads the flag at every full collection). Process-wide: call it once, at the start of `run` or `once`. */
export function limitHeapGrowth(percent: number = HEAP_GROWING_PERCENT): void {
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}
