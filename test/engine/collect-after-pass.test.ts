// After a large pass, once the daemon has stayed idle for a moment, it runs one full garbage
// collection: between scheduled passes the pass's garbage goes back to the system, and a pass that
// is already waiting is never delayed by it (peak RSS at 100,000 VMs: util/heap.ts, daemon.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Daemon } from '../../src/engine/daemon.js';
import type { Runtime } from '../../src/runtime.js';
import { fullCollector } from '../../src/util/heap.js';
import { createLogger } from '../../src/util/logger.js';
import { World } from '../support/world.js';

const IDLE_MS = 100;

describe('a full collection once the daemon is idle after a large pass', () => {
  let world: World;
  let runtime: Runtime;
  let daemon: Daemon | null = null;
  const logger = createLogger({ level: 'silent', pretty: false });
  beforeEach(async () => {
    world = await new World().start();
    runtime = world.runtime({ logger });
    for (const vmid of [100, 101, 102]) {
      world.addVm({ vmid, name: `web-${vmid}` });
      world.bill(vmid, 5);
    }
  });
  afterEach(async () => {
    await daemon?.stop(1000);
    daemon = null;
    await runtime.close();
    await world.stop();
  });

  /** A daemon whose collections are counted; its first pass has run when this returns. */
  const started = async (minVms: number): Promise<{ daemon: Daemon; collections: () => number }> => {
    let collections = 0;
    daemon = new Daemon(runtime.deps, { schedule: '0 0 1 1 *', version: 'test', logger, collectGarbage: { minVms, collect: () => collections++, idleMs: IDLE_MS } });
    daemon.start();
    await daemon.whenIdle();
    expect(world.panel.table()).toHaveLength(3);
    return { daemon, collections: () => collections };
  };

  it('runs once, after the daemon stayed idle for idleMs, when the sources listed at least minVms VMs', async () => {
    const { collections } = await started(3);
    expect(collections()).toBe(0);
    await vi.waitFor(() => expect(collections()).toBe(1), { timeout: 5_000, interval: 20 });
    await sleep(IDLE_MS * 3);
    expect(collections()).toBe(1);
  });

  it('does not run after a smaller pass', async () => {
    const { collections } = await started(4);
    await sleep(IDLE_MS * 3);
    expect(collections()).toBe(0);
  });

  it('a pass asked for before the idle time is up goes first, with no collection during it; one follows the last pass', async () => {
    const { daemon, collections } = await started(3);
    // The next pass lasts longer than the idle time, so a collection still pending would run inside it.
    world.pve.faults.set({ kind: 'slowMs', ms: IDLE_MS * 4, phase: 'headers', times: 1 });
    daemon.requestPass({ full: false, reason: 'test' });
    await sleep(IDLE_MS * 3);
    expect(daemon.status().passRunning).toBe(true);
    expect(collections()).toBe(0);
    await daemon.whenIdle();
    await vi.waitFor(() => expect(collections()).toBe(1), { timeout: 5_000, interval: 20 });
  });

  it('stopping the daemon cancels a pending collection', async () => {
    const { daemon, collections } = await started(3);
    await daemon.stop(1000);
    await sleep(IDLE_MS * 3);
    expect(collections()).toBe(0);
  });
});

describe('fullCollector', () => {
  it('collects garbage now, without putting gc on the global scope', async () => {
    const collect = fullCollector();
    expect(collect).toBeTypeOf('function');
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
    const ref = ((): WeakRef<object> => new WeakRef({ payload: new Array(1000).fill('x') }))();
    // A WeakRef target stays alive until the current job ends.
    await new Promise((r) => setImmediate(r));
    collect!();
    expect(ref.deref()).toBeUndefined();
  });
});
