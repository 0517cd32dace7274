// The wall clock set back (NTP correcting a fast clock, an operator fixing the time zone by hand):
// every wait the daemon measures against it — a failed call's backoff, the open circuit — must end
// when it would have, not as much later as the clock jumped, and a success recorded before the jump
// must not look fresh for that long. Through real passes against the panel simulator, so the
// settings reach the gate as the daemon wires them.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { Clock } from '../../src/domain/ports.js';
import { Daemon } from '../../src/engine/daemon.js';
import { nullObserver, type PassObserver } from '../../src/engine/observer.js';
import { runPass } from '../../src/engine/pass.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { createLogger, type Logger } from '../../src/util/logger.js';
import { raw } from '../store/helpers.js';
import { World } from '../support/world.js';

const HOUR = 3_600_000;

describe('a wall clock set back', () => {
  let world: World;
  let runtime: Runtime;
  afterEach(async () => {
    await runtime?.close();
    await world?.stop();
  });

  /** A world with one billed VM, and a runtime on a clock the test moves. */
  const start = async (options: { retry?: Record<string, number>; logger?: Logger; observer?: PassObserver } = {}) => {
    world = await new World(options.retry ? { config: { retry: options.retry } } : {}).start();
    const config = loadConfig({ path: world.configPath, env: {} }).config;
    let now = Date.UTC(2026, 10, 27, 12);
    const clock: Clock = { now: () => now };
    runtime = createRuntime({ config, logger: options.logger ?? createLogger({ level: 'silent', pretty: false }), clock, observer: options.observer ?? nullObserver });
    world.addVm({ vmid: 100, name: 'a' });
    world.bill(100, 5);
    return {
      pass: () => runPass(runtime.deps, {}, new AbortController().signal),
      now: () => now,
      move: (ms: number) => {
        now += ms;
      },
    };
  };

  it('does not stretch a failed create’s backoff by the jump', async () => {
    const { pass, move } = await start({ retry: { baseDelayMs: 60_000, maxDelayMs: 600_000, breakerThreshold: 100 } });
    world.panel.addFault({ mode: 'status5xx', code: 503, times: 1 });
    expect((await pass()).summary.result).toBe('partial');
    expect((await pass()).summary.actions.ok).toBe(0); // backing off: nothing sent
    move(-2 * HOUR);
    expect((await pass()).summary.result).toBe('success');
    expect(world.panel.table().map((r) => r.name)).toEqual(['a']);
  });

  it('does not hold the open circuit shut for the length of the jump', async () => {
    const { pass, move } = await start({ retry: { baseDelayMs: 1, maxDelayMs: 1, breakerThreshold: 1, breakerCooldownMs: 60_000 } });
    world.panel.addFault({ mode: 'status5xx', code: 503, times: 1 });
    expect((await pass()).summary.result).toBe('partial'); // the circuit opens
    expect(world.panel.table()).toHaveLength(0);
    move(-2 * HOUR);
    expect((await pass()).summary.result).toBe('success'); // the probe goes at once, and closes it
    expect(world.panel.table().map((r) => r.name)).toEqual(['a']);
  });

  // The bookkeeping after a pass (here: moving that future success to now) failing, e.g. on a full
  // disk, was an unhandled rejection that ended the process; a pass queued meanwhile never ran.
  it('a failure after a pass is logged, and the passes queued behind it still run', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ level: 'error', pretty: false, destination: sink });
    const clock = await start({ logger });
    const daemon = new Daemon(runtime.deps, { schedule: '0 0 1 1 *', version: 'test', logger });
    daemon.start();
    try {
      await daemon.whenIdle();
      clock.move(-2 * HOUR);
      world.pve.faults.set({ kind: 'status500', times: 2 });
      // A real SQLite failure on the write that follows the failing pass.
      raw(world.statePath, (db) => db.exec("CREATE TRIGGER full_disk BEFORE UPDATE ON meta WHEN NEW.key = 'last_success_at' BEGIN SELECT RAISE(ABORT, 'database or disk is full (test trigger)'); END"));
      daemon.requestPass({ full: false, reason: 'test' });
      daemon.requestPass({ full: false, reason: 'queued behind it' });
      await daemon.whenIdle();
      expect(lines.join('')).toMatch(/after pass: .*database or disk is full \(test trigger\)/);
      expect(daemon.status().lastPasses.map((p) => p.result)).toEqual(['failed', 'failed', 'success']);
      daemon.requestPass({ full: false, reason: 'later' });
      await daemon.whenIdle();
      expect(daemon.status().lastPasses).toHaveLength(4);
    } finally {
      await daemon.stop(1000);
    }
  });

  it('does not leave the last success in the future, where failing passes would look fresh to /readyz and VpsSyncStale', async () => {
    const gauge: Array<number | null> = [];
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ level: 'warn', pretty: false, destination: sink });
    const clock = await start({ logger, observer: { ...nullObserver, successTimes: (lastSuccessAtMs) => gauge.push(lastSuccessAtMs) } });
    const daemon = new Daemon(runtime.deps, { schedule: '0 0 1 1 *', version: 'test', logger });
    daemon.start();
    try {
      await daemon.whenIdle();
      expect(daemon.lastSuccessAtMs()).toBe(clock.now());

      clock.move(-2 * HOUR); // the clock was two hours fast, say, and NTP sets it right
      world.pve.faults.set({ kind: 'status500', times: 10 });
      daemon.requestPass({ full: false, reason: 'test' });
      await daemon.whenIdle();
      const now = clock.now();
      expect(daemon.lastSuccessAtMs()).toBe(now);
      expect(gauge.at(-1)).toBe(now);
      expect(runtime.deps.store.meta('last_success_at')).toBe(String(now));
      expect(lines.join('')).toMatch(/the system clock was set back: the last successful pass is recorded at 2026-11-27T12:00:00.000Z, after now \(2026-11-27T10:00:00.000Z\)/);

      // Then the age grows again as passes keep failing.
      clock.move(5 * 60_000);
      daemon.requestPass({ full: false, reason: 'test' });
      await daemon.whenIdle();
      expect(daemon.lastSuccessAtMs()).toBe(now);
    } finally {
      await daemon.stop(1000);
    }
  });
});
