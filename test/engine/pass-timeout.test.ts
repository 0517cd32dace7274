// A pass that runs out of time while sending (passTimeoutMs) says so: the actions it did not send
// showed only as "failed", with no problem naming the cause, and never reached the `skipped` metric.
import { afterEach, describe, expect, it } from 'vitest';
import { runPass } from '../../src/engine/pass.js';
import { createSyncMetrics } from '../../src/metrics/index.js';
import type { Runtime } from '../../src/runtime.js';
import { API_KEY, World } from '../support/world.js';

describe('a pass cut short by passTimeoutMs', () => {
  let world: World;
  let runtime: Runtime;
  afterEach(async () => {
    await runtime?.close();
    await world?.stop();
  });

  it('names the deadline in its problems and counts the calls it did not send as skipped', async () => {
    world = await new World().start();
    world.writeConfig({ passTimeoutMs: 1500, panel: { url: world.panel.url, apiKey: API_KEY, timeoutMs: 2000, concurrency: 1 } });
    for (let i = 0; i < 10; i++) {
      world.addVm({ vmid: 100 + i, name: `vm-${i}` });
      world.bill(100 + i, 5);
    }
    world.panel.addFault({ mode: 'slowMs', ms: 400, action: 'create' }); // every create: 10 need ~4 s
    const metrics = createSyncMetrics({ version: 'test', sources: ['pve1'], processMetrics: false });
    runtime = world.runtime({ observer: metrics });

    const { summary } = await runPass(runtime.deps, {}, new AbortController().signal);

    const sent = world.panel.stats().byAction.create ?? 0;
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(10);
    expect(summary.result).toBe('partial');
    expect(summary.problems).toContain(`${10 - sent} action(s) not sent: the pass ran out of time (passTimeoutMs 1500 ms); the next pass sends them`);
    const skipped = (await metrics.registry.metrics()).split('\n').find((l) => l.startsWith('vpssync_actions_total{action="create",result="skipped"}'));
    expect(skipped).toBe(`vpssync_actions_total{action="create",result="skipped"} ${10 - sent}`);
  });
});
