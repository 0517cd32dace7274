// The daemon under test, in its own process: exactly what `ospab-vps-sync run` builds (config
// loader, writer lock, Prometheus metrics observer, runtime, Daemon) minus the HTTP listener and
// the clock schedule. The benchmark asks for each pass over IPC; the worker measures it from
// inside — wall time, CPU time (user+sys, all threads) and peak RSS of this pass alone (the
// kernel's high-water mark, reset through /proc/self/clear_refs before the pass).
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { writeHeapSnapshot } from 'node:v8';
import { loadConfig } from '../config/load.js';
import { systemClock } from '../domain/ports.js';
import { Daemon } from '../engine/daemon.js';
import type { PassObserver } from '../engine/observer.js';
import { createSyncMetrics } from '../metrics/index.js';
import { createRuntime } from '../runtime.js';
import { acquireWriterLock } from '../store/writer-lock.js';
import { COLLECT_AFTER_VMS, fullCollector, limitHeapGrowth } from '../util/heap.js';
import { createLogger } from '../util/logger.js';
import { readVersion } from '../version.js';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { GENERATOR_WARMUP_CREATES } from './layout.js';
import type { PassRequest, PassMeasurement } from './protocol.js';

/** Peak RSS (VmHWM) and current RSS in MiB, from /proc (Linux). */
function memoryMiB(): { peak: number; now: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { peak: kb('VmHWM') / 1024, now: kb('VmRSS') / 1024 };
}

/** Resets the kernel's peak-RSS mark to the current RSS, so the next reading is this pass's peak. */
function resetPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/** Where the process stood at one moment: clock, CPU and event-loop counters. */
interface Mark {
  readonly at: number;
  readonly cpu: NodeJS.CpuUsage;
  readonly loop: EventLoopUtilization;
}

const mark = (): Mark => ({ at: performance.now(), cpu: process.cpuUsage(), loop: performance.eventLoopUtilization() });
const cpuMsBetween = (a: Mark, b: Mark): number => (b.cpu.user - a.cpu.user + b.cpu.system - a.cpu.system) / 1000;

interface Counts {
  billingQueries: number;
  listings: number;
  /** Actions reported since the plan of the current pass. */
  actions: number;
  /** When the engine reported the plan (right before apply), passed the generator's warm-up, and ended the pass. */
  plan: Mark | null;
  warm: Mark | null;
  end: Mark | null;
}

/** Counts what the engine reports, on top of the real metrics observer. */
function counting(inner: PassObserver, counts: Counts): PassObserver {
  return {
    ...inner,
    sourceListed: (...a) => {
      counts.listings++;
      inner.sourceListed(...a);
    },
    billingQueried: (...a) => {
      counts.billingQueries++;
      inner.billingQueried(...a);
    },
    drift: (c) => {
      counts.plan = mark();
      counts.actions = 0;
      counts.warm = null;
      inner.drift(c);
    },
    action: (...a) => {
      if (++counts.actions === GENERATOR_WARMUP_CREATES) counts.warm = mark();
      inner.action(...a);
    },
    outboxPending: (n) => inner.outboxPending(n),
    successTimes: (...a) => inner.successTimes(...a),
    passFinished: (...a) => {
      counts.end = mark();
      inner.passFinished(...a);
    },
  };
}

async function main(): Promise<void> {
  const configPath = process.argv[2];
  if (!configPath || !process.send) throw new Error('usage: fork daemon-worker.js CONFIG (with an IPC channel)');
  const { config } = loadConfig({ path: configPath, env: process.env });
  const logger = createLogger({ level: config.log.level, pretty: false });
  const lock = acquireWriterLock(config.stateFile);
  // As `run` does; BENCH_HEAP_GROWING_PERCENT overrides it to measure other settings (0 = V8's default).
  const growth = process.env.BENCH_HEAP_GROWING_PERCENT;
  if (growth === undefined) limitHeapGrowth();
  else if (Number(growth) > 0) limitHeapGrowth(Number(growth));
  const version = readVersion();
  const counts: Counts = { billingQueries: 0, listings: 0, actions: 0, plan: null, warm: null, end: null };
  const metrics = createSyncMetrics({ version, sources: config.sources.map((s) => s.name) });
  const runtime = createRuntime({ config, logger, clock: systemClock, observer: counting(metrics, counts) });
  // As `run` does; BENCH_COLLECT_AFTER_PASS=0 leaves collections to V8 alone, to measure the difference.
  const collect = process.env.BENCH_COLLECT_AFTER_PASS === '0' ? null : fullCollector();
  const daemon = new Daemon(runtime.deps, { schedule: config.schedule, version, logger, ...(collect ? { collectGarbage: { minVms: COLLECT_AFTER_VMS, collect } } : {}) });
  let started = false;

  const onePass = async (request: PassRequest): Promise<PassMeasurement> => {
    const profiler = request.profile ? new Session() : null;
    if (profiler) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    const peakResettable = resetPeak();
    // What the peak is made of: the sampler only runs between the pass's own tasks, so it may miss the very top.
    const mib = (n: number) => n / 1024 ** 2;
    let sampledPeak = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0 };
    const sampler = setInterval(() => {
      // rss() alone is cheap; the full breakdown (~0.3 ms) only when a new high is seen.
      if (mib(process.memoryUsage.rss()) <= sampledPeak.rss) return;
      const u = process.memoryUsage();
      sampledPeak = { rss: mib(u.rss), heapTotal: mib(u.heapTotal), heapUsed: mib(u.heapUsed), external: mib(u.external) };
    }, 25);
    const before = { ...counts };
    counts.plan = counts.warm = counts.end = null;
    const start = mark();
    const cpu0 = start.cpu;
    const t0 = start.at;
    if (!started) {
      started = true;
      daemon.start(); // recovers the outbox and runs the first pass, like `run`
    } else {
      daemon.requestPass({ full: request.full ?? false, reason: 'bench' });
    }
    await daemon.whenIdle();
    const finish = mark();
    const wallMs = finish.at - t0;
    const cpu = process.cpuUsage(cpu0);
    clearInterval(sampler);
    const mem = memoryMiB();
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      writeFileSync(request.profile!, JSON.stringify(profile));
      profiler.disconnect();
    }
    const heapUsedAfterMiB = process.memoryUsage().heapUsed / 1024 ** 2;
    // Diagnostics after the measured figures were taken, so they do not distort them.
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const liveHeapAfterMiB = gc ? process.memoryUsage().heapUsed / 1024 ** 2 : null;
    if (request.heapSnapshot) writeHeapSnapshot(request.heapSnapshot);
    const summary = runtime.deps.store.recentPasses(1)[0]!;
    // A pass that failed before planning reports no plan: all of it then counts as observe+plan.
    // (The observer set these while the pass ran: re-read them through the interface type.)
    const reported: Counts = counts;
    const end = reported.end ?? finish;
    const plan = reported.plan ?? end;
    const warm = reported.warm;
    return {
      wallMs,
      cpuUserMs: cpu.user / 1000,
      cpuSystemMs: cpu.system / 1000,
      peakRssMiB: peakResettable ? mem.peak : NaN,
      rssAfterMiB: mem.now,
      sampledPeak,
      processPeakRssMiB: process.resourceUsage().maxRSS / 1024,
      heapUsedAfterMiB,
      liveHeapAfterMiB,
      observeAndPlanMs: plan.at - t0,
      applyMs: end.at - plan.at,
      sending: {
        cpuMs: cpuMsBetween(plan, end),
        eventLoopBusy: performance.eventLoopUtilization(end.loop, plan.loop).utilization,
        actions: counts.actions,
        afterWarmup: warm ? { actions: counts.actions - GENERATOR_WARMUP_CREATES, ms: end.at - warm.at, cpuMs: cpuMsBetween(warm, end) } : null,
      },
      billingQueries: counts.billingQueries - before.billingQueries,
      listings: counts.listings - before.listings,
      summary,
    };
  };

  process.on('message', (message: PassRequest | { stop: true }) => {
    if ('stop' in message) {
      void daemon
        .stop(10_000)
        .then(() => runtime.close())
        .finally(() => {
          lock.release();
          process.exit(0);
        });
      return;
    }
    onePass(message).then(
      (m) => process.send!(m),
      (err: unknown) => process.send!({ error: String(err) }),
    );
  });
  process.send({ ready: true });
}

main().catch((err: unknown) => {
  process.stderr.write(`daemon worker: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
