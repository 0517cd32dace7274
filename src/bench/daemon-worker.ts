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
import { limitHeapGrowth } from '../util/heap.js';
import { createLogger } from '../util/logger.js';
import { readVersion } from '../version.js';
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

interface Counts {
  billingQueries: number;
  listings: number;
  /** performance.now() when the engine reported the plan (right before apply) and when the pass ended. */
  planAt: number;
  endAt: number;
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
      counts.planAt = performance.now();
      inner.drift(c);
    },
    action: (...a) => inner.action(...a),
    outboxPending: (n) => inner.outboxPending(n),
    restored: (...a) => inner.restored(...a),
    passFinished: (...a) => {
      counts.endAt = performance.now();
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
  const counts: Counts = { billingQueries: 0, listings: 0, planAt: 0, endAt: 0 };
  const metrics = createSyncMetrics({ version, sources: config.sources.map((s) => s.name) });
  const runtime = createRuntime({ config, logger, clock: systemClock, observer: counting(metrics, counts) });
  const daemon = new Daemon(runtime.deps, { schedule: config.schedule, version, logger });
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
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    if (!started) {
      started = true;
      daemon.start(); // recovers the outbox and runs the first pass, like `run`
    } else {
      daemon.requestPass({ full: request.full ?? false, reason: 'bench' });
    }
    await daemon.whenIdle();
    const wallMs = performance.now() - t0;
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
      observeAndPlanMs: counts.planAt - t0,
      applyMs: counts.endAt - counts.planAt,
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
