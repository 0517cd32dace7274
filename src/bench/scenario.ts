// One size of the benchmark, start to finish: world up, panel ceiling, daemon passes (initial
// sync, steady state, 1% drift, restart), inventory floor, world down. Returns the raw figures.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/load.js';
import { runToResult } from './child.js';
import { DaemonProcess } from './daemon-client.js';
import type { FloorFetchResult, FloorFetchSpec } from './floor-fetch.js';
import type { FloorLoadResult } from './floor-load.js';
import { API_KEY, GENERATOR_WARMUP_CREATES, layoutFor, type Layout } from './layout.js';
import type { PassMeasurement } from './protocol.js';
import { BenchWorld, type DriftPlan, type RequestCounts } from './world.js';
import { wrkCreatesPerSecond } from './wrk.js';

/** One measured pass with what each system received during it. */
export interface PassRun {
  readonly m: PassMeasurement;
  readonly requests: RequestCounts;
  /** Rows in the panel simulator after the pass. */
  readonly panelRows: number;
  /** CPU the panel simulator's process used during the pass (ms): its share of the machine. */
  readonly panelCpuMs: number;
}

/** A load generator run, with what the panel simulator spent serving it (warm-up included). */
export interface GeneratorRun extends FloorLoadResult {
  readonly panelCpuMs: number;
  /** Requests the panel served during the run, warm-up included. */
  readonly panelRequests: number;
}

/** A panel-ceiling measurement and the initial sync that ran right after it (fresh state file, new daemon process). */
export interface InitialPair {
  readonly generator: GeneratorRun;
  readonly initial: PassRun;
}

/** Everything measured for one N. */
export interface SizeResult {
  readonly layout: Layout;
  readonly concurrency: number;
  /** How long the panel simulator waited before each answer (`--panel-latency-ms`; 0: none). */
  readonly panelLatencyMs: number;
  /** CPU cores the daemon, the simulators and the generators shared. */
  readonly cores: number;
  readonly setupSeconds: number;
  /** 1-minute load average just before this size started (other work on the machine skews the figures). */
  readonly loadAverage: number;
  /**
   * Null when skipped (`--no-ceiling`). `node`: the warmed-up load generator (the ceiling);
   * `fresh`: a new generator process's first N creates, no warm-up — the cold start any Node
   * client pays, next to the daemon's initial sync of the same N.
   */
  readonly ceiling: { readonly node: GeneratorRun; readonly wrk: number | null; readonly fresh: GeneratorRun } | null;
  readonly floorFetch: readonly FloorFetchResult[];
  readonly initial: PassRun;
  /**
   * (ceiling, initial sync) measured back to back, the first being `ceiling.node` and `initial`:
   * the machine's speed moves within minutes, so each ratio compares two runs made under the same
   * load. Empty without a ceiling.
   */
  readonly initialPairs: readonly InitialPair[];
  readonly steady: readonly PassRun[];
  readonly drift: PassRun & { readonly plan: DriftPlan };
  readonly afterDrift: PassRun;
  /**
   * The first pass of a new daemon process on the same state file, after the previous process
   * was stopped cleanly (a deploy). The inventory did not change since `afterDrift`, so this is
   * what a restart itself costs: whatever the daemon kept only in memory is fetched again.
   */
  readonly restart: PassRun;
}

export interface ScenarioOptions {
  readonly n: number;
  readonly dir: string;
  readonly dist: string;
  readonly concurrency: number | undefined;
  readonly vsphere: boolean;
  readonly repeats: number;
  readonly initialRepeats: number;
  readonly daemonNodeArgs: readonly string[];
  /** Directory for one CPU profile per pass, or null. */
  readonly profileDir: string | null;
  /** Also write a heap snapshot after each pass into profileDir. */
  readonly heapSnapshots: boolean;
  readonly noCeiling: boolean;
  readonly pauseMs: number;
  readonly panelLatencyMs: number;
  /** 1-minute load average just before this size started. */
  readonly loadAverage: number;
  readonly say: (line: string) => void;
}

/** Runs one size; always stops what it started. */
export async function runScenario(o: ScenarioOptions): Promise<SizeResult> {
  const t0 = performance.now();
  const layout = layoutFor(o.n, o.vsphere);
  const world = new BenchWorld(layout, o.dir, o.dist, o.concurrency, o.panelLatencyMs);
  let daemon: DaemonProcess | null = null;
  try {
    o.say(`  starting simulators and seeding ${o.n} VMs…`);
    await world.start();
    const concurrency = loadConfig({ path: world.configPath, env: {} }).config.panel.concurrency;
    const setupSeconds = (performance.now() - t0) / 1000;

    // Floor (b) first, on an empty panel; then the panel is emptied again for the daemon.
    /** Runs a generator and measures what the panel spent meanwhile. */
    const generatorRun = async (count: number, warmup?: number): Promise<GeneratorRun> => {
      const cpu0 = await world.panelCpuMs();
      const before = (await world.counts()).panelTotal;
      const args = [world.panelUrl, API_KEY, String(concurrency), String(count), ...(warmup === undefined ? [] : [String(warmup)])];
      const result = await runToResult<FloorLoadResult>(join(o.dist, 'bench/floor-load.js'), args, { logFile: join(o.dir, 'floor-load.log') });
      const panelCpuMs = (await world.panelCpuMs()) - cpu0;
      return { ...result, panelCpuMs, panelRequests: (await world.counts()).panelTotal - before };
    };
    const warmGenerator = async (): Promise<GeneratorRun> => {
      const loadCount = Math.max(o.n, 30_000);
      o.say(`  panel ceiling: ${loadCount} creates at concurrency ${concurrency}…`);
      return generatorRun(loadCount);
    };
    let ceiling: SizeResult['ceiling'] = null;
    if (!o.noCeiling) {
      const node = await warmGenerator();
      const wrk = await wrkCreatesPerSecond(world.panelUrl, API_KEY, concurrency, 5, o.dir);
      o.say(`    Node load generator ${Math.round(node.perSecond)}/s, wrk ${wrk === null ? 'not installed' : `${Math.round(wrk)}/s`}`);
      await world.resetPanel();
      const fresh = await generatorRun(o.n, 0);
      o.say(`    a fresh generator's first ${o.n} creates (no warm-up): ${Math.round(fresh.perSecond)}/s`);
      ceiling = { node, wrk, fresh };
      await world.resetPanel();
    }

    const startDaemon = (log: string) => DaemonProcess.start(join(o.dist, 'bench/daemon-worker.js'), world.configPath, join(o.dir, log), o.daemonNodeArgs);
    daemon = await startDaemon('daemon.log');
    /**
     * Stops the daemon process cleanly (as `run` does on SIGTERM: no new pass, state file closed,
     * writer lock released), runs `meanwhile` while no daemon runs, and starts a new process on
     * the same config. Its first measured pass is its `daemon.start()`, as in `run`.
     */
    const replaceDaemon = async <T>(log: string, meanwhile: () => Promise<T> | T): Promise<T> => {
      await daemon?.stop();
      daemon = null;
      const value = await meanwhile();
      daemon = await startDaemon(log);
      return value;
    };
    const measure = async (phase: string): Promise<PassRun> => {
      // Scheduled passes have idle time between them (V8 uses it to shrink the heap); back to back
      // they would not. A new process runs its first pass at once, as `run` does.
      if (daemon!.passesRun > 0 && o.pauseMs > 0) await new Promise((r) => setTimeout(r, o.pauseMs));
      await world.resetSourceCounters();
      const before = await world.counts();
      const panelCpu0 = await world.panelCpuMs();
      const profile = o.profileDir ? join(o.profileDir, `${o.n}-${phase}.cpuprofile`) : undefined;
      const heapSnapshot = o.profileDir && o.heapSnapshots ? join(o.profileDir, `${o.n}-${phase}.heapsnapshot`) : undefined;
      const m = await daemon!.pass({ ...(profile ? { profile } : {}), ...(heapSnapshot ? { heapSnapshot } : {}) });
      const panelCpuMs = (await world.panelCpuMs()) - panelCpu0;
      const after = await world.counts();
      return { m, requests: diffCounts(before, after), panelRows: await world.panelRows(), panelCpuMs };
    };

    o.say('  initial sync…');
    const initial = await measure('initial');
    o.say(`    ${fmtPass(initial)}`);
    // Steady passes and fetch-and-parse floors alternate, so each ratio compares two runs made
    // under the same machine load (the floor runs in a fresh process each time).
    const spec: FloorFetchSpec = { ...world.sourceEndpoints, listLimit: 4000 };
    const steady: PassRun[] = [];
    const floorFetch: FloorFetchResult[] = [];
    for (let i = 0; i < o.repeats; i++) {
      floorFetch.push(await runToResult<FloorFetchResult>(join(o.dist, 'bench/floor-fetch.js'), [JSON.stringify(spec)], { logFile: join(o.dir, 'floor-fetch.log') }));
      steady.push(await measure(`steady-${i + 1}`));
      o.say(`  floor ${(floorFetch[i]!.wallMs / 1000).toFixed(3)} s; steady pass ${i + 1}: ${fmtPass(steady[i]!)}`);
    }

    const plan = await world.applyDrift();
    o.say(`  drift applied: ${JSON.stringify(plan)}`);
    const drift = { ...(await measure('drift')), plan };
    o.say(`    ${fmtPass(drift)}`);
    const afterDrift = await measure('after-drift');
    o.say(`  steady after drift: ${fmtPass(afterDrift)}`);

    // A deploy: nothing changes in the inventory, the state file stays, only the process is new.
    await replaceDaemon('daemon-restart.log', () => undefined);
    o.say('  restart (daemon stopped cleanly, new process on the same state file)…');
    const restart = await measure('restart');
    o.say(`    ${fmtPass(restart)}`);

    // More (ceiling, initial sync) pairs: each initial sync from an empty panel and a fresh state
    // file in a new daemon process, right after its own ceiling measurement.
    const initialPairs: InitialPair[] = ceiling ? [{ generator: ceiling.node, initial }] : [];
    for (let i = 2; ceiling && i <= o.initialRepeats; i++) {
      const generator = await replaceDaemon(`daemon-${i}.log`, async () => {
        await world.resetPanel();
        const g = await warmGenerator();
        o.say(`    Node load generator ${Math.round(g.perSecond)}/s`);
        await world.resetPanel();
        world.removeState();
        return g;
      });
      o.say(`  initial sync ${i} of ${o.initialRepeats} (fresh state file, new daemon process)…`);
      const again = await measure(`initial-${i}`);
      o.say(`    ${fmtPass(again)}`);
      initialPairs.push({ generator, initial: again });
    }
    return { layout, concurrency, panelLatencyMs: o.panelLatencyMs, cores: availableParallelism(), setupSeconds, loadAverage: o.loadAverage, ceiling, floorFetch, initial, initialPairs, steady, drift, afterDrift, restart };
  } finally {
    await daemon?.stop();
    await world.stop();
  }
}

function diffCounts(before: RequestCounts, after: RequestCounts): RequestCounts {
  const panel: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.panel)) {
    const d = v - (before.panel[k] ?? 0);
    if (d !== 0) panel[k] = d;
  }
  // Source counters were reset just before the pass, so `after` is the pass's own count.
  return { proxmox: after.proxmox, vsphere: after.vsphere, panel, panelTotal: after.panelTotal - before.panelTotal };
}

function fmtPass(r: PassRun): string {
  const m = r.m;
  const s = m.summary;
  const sent = s.actions.planned;
  const warm = m.sending.afterWarmup;
  const apply =
    sent > 0
      ? ` (apply ${(m.applyMs / 1000).toFixed(3)} s = ${Math.round(sent / (m.applyMs / 1000))}/s` +
        (warm ? `, ${Math.round(warm.actions / (warm.ms / 1000))}/s past the first ${GENERATOR_WARMUP_CREATES}` : '') +
        `; event loop busy ${Math.round(m.sending.eventLoopBusy * 100)}%, ${Math.round((m.sending.cpuMs * 1000) / sent)} µs CPU per action)`
      : '';
  return `${s.result}: ${(m.wallMs / 1000).toFixed(3)} s wall${apply}, ${((m.cpuUserMs + m.cpuSystemMs) / 1000).toFixed(3)} s CPU, peak ${m.peakRssMiB.toFixed(0)} MiB (sampled peak: rss ${m.sampledPeak.rss.toFixed(0)} = heap ${m.sampledPeak.heapTotal.toFixed(0)} [used ${m.sampledPeak.heapUsed.toFixed(0)}] + external ${m.sampledPeak.external.toFixed(0)} + rest; heap after ${m.heapUsedAfterMiB.toFixed(0)}${m.liveHeapAfterMiB === null ? '' : `, live ${m.liveHeapAfterMiB.toFixed(0)}`}), ${s.actions.ok}/${s.actions.planned} actions ok, panel ${r.requests.panelTotal} req, sources ${JSON.stringify(r.requests.proxmox)} ${JSON.stringify(r.requests.vsphere)}`;
}
