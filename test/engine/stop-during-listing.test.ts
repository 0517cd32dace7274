// A daemon stopped while its sources are listing: the listings it cut short are not recorded as
// the sources' failures, or `status` after the restart showed them down ("listing aborted") until
// the next pass.
import { afterEach, describe, expect, it } from 'vitest';
import { Daemon } from '../../src/engine/daemon.js';
import type { Runtime } from '../../src/runtime.js';
import { createLogger } from '../../src/util/logger.js';
import { waitFor } from '../support/wait.js';
import { World } from '../support/world.js';

describe('a stop during the listing', () => {
  let world: World;
  let runtime: Runtime;
  afterEach(async () => {
    await runtime?.close();
    await world?.stop();
  });

  it('leaves each source as the last finished listing found it', async () => {
    world = await new World().start();
    world.addVm({ vmid: 100, name: 'a' });
    world.bill(100, 5);
    runtime = world.runtime();
    const daemon = new Daemon(runtime.deps, { schedule: '0 0 1 1 *', version: 'test', logger: createLogger({ level: 'silent', pretty: false }) });
    daemon.start();
    await daemon.whenIdle();
    expect(runtime.deps.store.sourceStatuses()).toEqual([expect.objectContaining({ name: 'pve1', up: true, vms: 1, lastError: null })]);

    world.pve.faults.set({ kind: 'slowMs', ms: 1500, times: 1 });
    daemon.requestPass({ full: false, reason: 'test' });
    await waitFor('the listing to be on its way', async () => (world.pve.counters.total() > 1 ? true : undefined));
    await daemon.stop(2000);

    expect(runtime.deps.store.sourceStatuses()).toEqual([expect.objectContaining({ name: 'pve1', up: true, vms: 1, lastError: null })]);
    expect(daemon.status().billing).toEqual({ up: true, lastError: null });
  });
});
