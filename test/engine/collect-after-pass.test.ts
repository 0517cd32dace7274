// After a large pass the daemon runs one full garbage collection, so back-to-back passes do not
// stack their data on the previous pass's garbage (peak RSS at 100,000 VMs: util/heap.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { systemClock } from '../../src/domain/ports.js';
import { Daemon } from '../../src/engine/daemon.js';
import { nullObserver } from '../../src/engine/observer.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { fullCollector } from '../../src/util/heap.js';
import { createLogger } from '../../src/util/logger.js';
import { World } from '../support/world.js';

describe('a full collection after a large pass', () => {
  let world: World;
  let runtime: Runtime;
  const logger = createLogger({ level: 'silent', pretty: false });
  beforeEach(async () => {
    world = await new World().start();
    runtime = createRuntime({ config: loadConfig({ path: world.configPath, env: {} }).config, logger, clock: systemClock, observer: nullObserver });
    for (const vmid of [100, 101, 102]) {
      world.addVm({ vmid, name: `web-${vmid}` });
      world.bill(vmid, 5);
    }
  });
  afterEach(async () => {
    await runtime.close();
    await world.stop();
  });

  const firstPass = async (minVms: number): Promise<number> => {
    let collections = 0;
    const daemon = new Daemon(runtime.deps, { schedule: '0 0 1 1 *', version: 'test', logger, collectGarbage: { minVms, collect: () => collections++ } });
    daemon.start();
    await daemon.whenIdle();
    await daemon.stop(1000);
    expect(world.panel.table()).toHaveLength(3);
    return collections;
  };

  it('runs once the sources listed at least minVms VMs', async () => {
    expect(await firstPass(3)).toBe(1);
  });

  it('does not run after a smaller pass', async () => {
    expect(await firstPass(4)).toBe(0);
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
