// A restarted daemon exports the drift and outbox gauges its last decided pass left, not zeros,
// until its own first pass decides: a scrape of zeros after every restart reset the `for:` timers
// of the drift alerts, so a daemon restarted often (deploys, a crash loop) never fired them.
import { afterEach, describe, expect, it } from 'vitest';
import { Daemon } from '../../src/engine/daemon.js';
import { createSyncMetrics } from '../../src/metrics/index.js';
import type { Runtime } from '../../src/runtime.js';
import { createLogger } from '../../src/util/logger.js';
import { World } from '../support/world.js';

describe('gauges after a restart', () => {
  let world: World;
  const runtimes: Runtime[] = [];
  afterEach(async () => {
    for (const r of runtimes.splice(0)) await r.close();
    await world?.stop();
  });

  const daemonProcess = () => {
    const metrics = createSyncMetrics({ version: 'test', sources: ['pve1'], processMetrics: false });
    const runtime = world.runtime({ observer: metrics });
    runtimes.push(runtime);
    const daemon = new Daemon(runtime.deps, { schedule: '0 0 1 1 *', version: 'test', logger: createLogger({ level: 'silent', pretty: false }) });
    const gauge = async (name: string): Promise<string[]> => (await metrics.registry.metrics()).split('\n').filter((l) => l.startsWith(name) && !/ 0$/.test(l));
    return { daemon, gauge };
  };

  it('shows the last decided pass until the first pass of the new process decides', async () => {
    world = await new World().start();
    world.addVm({ vmid: 100, name: 'billed' });
    world.bill(100, 5);
    world.addVm({ vmid: 101, name: 'nobody pays' });
    world.panel.addFault({ mode: 'status5xx', code: 503, action: 'create', times: 1 });
    const first = daemonProcess();
    first.daemon.start();
    await first.daemon.whenIdle();
    expect(await first.gauge('vpssync_drift{')).toEqual(['vpssync_drift{class="missing_on_panel"} 1', 'vpssync_drift{class="unbilled"} 1']);
    expect(await first.gauge('vpssync_outbox_pending')).toEqual(['vpssync_outbox_pending 1']);
    await first.daemon.stop(1000);

    // The new process's first pass is slow to list: meanwhile, the last pass's figures.
    world.pve.faults.set({ kind: 'slowMs', ms: 1500, times: 1 });
    const second = daemonProcess();
    second.daemon.start();
    expect(await second.gauge('vpssync_drift{')).toEqual(['vpssync_drift{class="missing_on_panel"} 1', 'vpssync_drift{class="unbilled"} 1']);
    expect(await second.gauge('vpssync_outbox_pending')).toEqual(['vpssync_outbox_pending 1']);
    await second.daemon.whenIdle(); // it finds the VPS missing (drift) and creates it
    expect(await second.gauge('vpssync_outbox_pending')).toEqual([]);
    second.daemon.requestPass({ full: false, reason: 'test' });
    await second.daemon.whenIdle();
    expect(await second.gauge('vpssync_drift{')).toEqual(['vpssync_drift{class="unbilled"} 1']);
    await second.daemon.stop(1000);
  });
});
