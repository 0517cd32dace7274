// Issue 5, delete guards, end to end through the CLI with the default settings (3 consecutive
// successful listings, at most 20 and 10 % of a source per pass): when more deletes are due than
// that, all of them are held and reported until `once --force`, which lifts the count/fraction
// limits (never the missing-pass rule).
import { afterEach, describe, expect, it } from 'vitest';
import { Daemon } from '../../src/engine/daemon.js';
import { createLogger } from '../../src/util/logger.js';
import { World } from '../support/world.js';

const DEFAULT_GUARDS = { missingPassesBeforeDelete: 3, maxDeletesPerPass: 20, maxDeleteFraction: 0.1 };

interface PlanJson {
  driftCounts: Record<string, number>;
  drift: { class: string; key?: string; detail: string }[];
}

async function start(n: number, guards: Record<string, number> = DEFAULT_GUARDS): Promise<World> {
  const world = await new World({ config: { guards } }).start();
  for (let i = 0; i < n; i++) {
    world.addVm({ vmid: 100 + i, name: `vm${100 + i}` });
    world.bill(100 + i, 1 + (i % 5));
  }
  expect((await world.cli('once')).code).toBe(0);
  expect(world.panel.table()).toHaveLength(n);
  return world;
}

const deletes = (w: World) => w.panel.stats().byAction.delete ?? 0;
const names = (w: World) => w.panel.table().map((r) => r.name);
async function planJson(w: World): Promise<PlanJson> {
  return JSON.parse((await w.cli('plan', '--json')).stdout) as PlanJson;
}

describe('delete guards (defaults) through the CLI', () => {
  let world: World;
  afterEach(async () => {
    await world.stop();
  });

  it('a VM is deleted only after 3 consecutive successful listings without it, reported meanwhile', async () => {
    world = await start(3);
    world.pve.inventory.remove(101);
    for (const missing of [1, 2]) {
      expect((await world.cli('once')).code).toBe(0);
      expect(deletes(world)).toBe(0);
      const plan = await planJson(world);
      expect(plan.drift.find((d) => d.class === 'gone_from_hypervisor')?.detail).toContain(`missing ${missing + 1} listings`);
    }
    expect((await world.cli('once')).code).toBe(0);
    expect(deletes(world)).toBe(1);
    expect(names(world)).toEqual(['vm100', 'vm102']);
  });

  it('a failed listing neither counts as missing nor resets the count', async () => {
    world = await start(3);
    world.pve.inventory.remove(101);
    await world.cli('once'); // missing 1
    world.pve.faults.set({ kind: 'status500', times: 2 });
    expect((await world.cli('once')).code).toBe(1);
    expect((await world.cli('once')).code).toBe(1);
    await world.cli('once'); // missing 2
    expect(deletes(world)).toBe(0);
    await world.cli('once'); // missing 3
    expect(deletes(world)).toBe(1);
  });

  it('a VM that reappears before the third listing cancels its pending delete', async () => {
    world = await start(3);
    world.pve.inventory.remove(101);
    await world.cli('once');
    await world.cli('once');
    world.addVm({ vmid: 101, name: 'vm101' });
    for (let i = 0; i < 4; i++) expect((await world.cli('once')).code).toBe(0);
    expect(deletes(world)).toBe(0);
    expect(world.panel.table().map((r) => [r.id, r.name])).toEqual([[1, 'vm100'], [2, 'vm101'], [3, 'vm102']]);
  });

  it('more deletes due than 10 % of a source: none goes, all are reported as held, and once --force deletes them in one pass', async () => {
    world = await start(20);
    for (const vmid of [101, 103, 105, 107, 109]) world.pve.inventory.remove(vmid);
    for (let i = 0; i < 3; i++) expect((await world.cli('once')).code).toBe(0); // held is drift, not a failure
    expect(deletes(world)).toBe(0);
    const plan = await planJson(world);
    expect(plan.driftCounts.held_delete).toBe(5);
    const status = JSON.parse((await world.cli('status', '--json')).stdout) as { lastPasses: { drift: Record<string, number> }[] };
    expect(status.lastPasses[0]!.drift.held_delete).toBe(5);
    const text = (await world.cli('plan')).stdout;
    expect(text).toMatch(/held: 5 deletes are due on source pve1, more than the 2 one pass may make .*resync --force/);
    // Nothing would be sent, yet the panel still has five VPSes whose VMs are gone.
    expect(text).not.toMatch(/the panel matches/);
    expect(text).toMatch(/^Nothing to send now, but the panel does not match yet: 5 delete\(s\) held by the guards \(below\)\.$/m);
    // It does not drain by itself: a listing that lost VMs by mistake would otherwise empty the panel, 10 % a pass.
    for (let i = 0; i < 2; i++) await world.cli('once');
    expect(deletes(world)).toBe(0);

    const forced = await world.cli('once', '--force');
    expect(forced.code).toBe(0);
    expect(deletes(world)).toBe(5);
    expect(world.panel.table()).toHaveLength(15);
  });

  it('deletes within the budget go without anyone: 2 of 20 (10 %) in one pass', async () => {
    world = await start(20);
    for (const vmid of [101, 103]) world.pve.inventory.remove(vmid);
    for (let i = 0; i < 3; i++) await world.cli('once');
    expect(deletes(world)).toBe(2);
    expect((await planJson(world)).driftCounts.held_delete).toBe(0);
  });

  it('the count guard (maxDeletesPerPass) holds them all too, until once --force', async () => {
    world = await start(8, { missingPassesBeforeDelete: 3, maxDeletesPerPass: 2, maxDeleteFraction: 1 });
    for (const vmid of [100, 101, 102, 103, 104]) world.pve.inventory.remove(vmid);
    for (let i = 0; i < 4; i++) await world.cli('once');
    expect(deletes(world)).toBe(0);
    expect((await world.cli('once', '--force')).code).toBe(0);
    expect(names(world)).toEqual(['vm105', 'vm106', 'vm107']);
  });

  it('--force never lifts the missing-pass rule', async () => {
    world = await start(3);
    world.pve.inventory.remove(101);
    for (let i = 0; i < 2; i++) expect((await world.cli('once', '--force')).code).toBe(0);
    expect(deletes(world)).toBe(0);
    await world.cli('once', '--force');
    expect(deletes(world)).toBe(1);
  });

  it('an empty listing that persists deletes nothing: every VPS is held and reported until the listing is back', async () => {
    world = await start(10);
    world.pve.faults.set({ kind: 'emptyList' });
    for (let i = 0; i < 5; i++) await world.cli('once');
    expect(deletes(world)).toBe(0);
    const plan = await planJson(world);
    expect(plan.driftCounts.held_delete).toBe(10);
    world.pve.faults.clear();
    await world.cli('once');
    expect(world.panel.table()).toHaveLength(10);
    expect((await planJson(world)).driftCounts.held_delete).toBe(0);
  });

  it('a partial listing for 2 passes deletes nothing', async () => {
    world = await start(10);
    world.pve.faults.set({ kind: 'partialList', fraction: 0.3, times: 2 });
    for (let i = 0; i < 2; i++) await world.cli('once');
    for (let i = 0; i < 3; i++) await world.cli('once');
    expect(deletes(world)).toBe(0);
    expect(world.panel.table()).toHaveLength(10);
  });

  it('a running daemon sends the held deletes when asked with force (resync --force), and only on that pass', async () => {
    world = await start(20);
    const logger = createLogger({ level: 'silent', pretty: false });
    const runtime = world.runtime({ logger });
    const daemon = new Daemon(runtime.deps, { schedule: '0 0 1 1 *', version: 'test', logger });
    const passes = async (n: number, force = false): Promise<void> => {
      for (let i = 0; i < n; i++) {
        daemon.requestPass({ full: false, force, reason: 'test' });
        await daemon.whenIdle();
      }
    };
    try {
      daemon.start();
      await daemon.whenIdle();
      for (const vmid of [101, 103, 105]) world.pve.inventory.remove(vmid);
      await passes(3);
      expect(deletes(world)).toBe(0);
      expect(daemon.status().lastPasses[0]!.drift.held_delete).toBe(3);

      await passes(1, true);
      expect(deletes(world)).toBe(3);

      // The force was for that pass: the next mass disappearance is held again.
      for (const vmid of [100, 102, 104]) world.pve.inventory.remove(vmid);
      await passes(3);
      expect(deletes(world)).toBe(3);
      expect(daemon.status().lastPasses[0]!.drift.held_delete).toBe(3);
    } finally {
      await daemon.stop(1000);
      await runtime.close();
    }
  });
});
