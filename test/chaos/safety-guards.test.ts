// Issue 5, delete guards, end to end through the CLI with the default settings (3 consecutive
// successful listings, at most 20 and 10 % of a source per pass): each guard holds, reports what it
// holds, and `once --force` lifts the count/fraction limits (never the missing-pass rule).
import { afterEach, describe, expect, it } from 'vitest';
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

  it('the fraction guard (10 % of a source) holds the rest as held_delete; once --force deletes them in one pass', async () => {
    world = await start(20);
    for (const vmid of [101, 103, 105, 107, 109]) world.pve.inventory.remove(vmid);
    for (let i = 0; i < 2; i++) await world.cli('once');
    expect(deletes(world)).toBe(0);
    const third = await world.cli('once');
    expect(deletes(world)).toBe(2); // 10 % of 20
    expect(third.stdout).toMatch(/pass \d+ success: 2\/2 sent ok/); // held is reported as drift, not as a failure
    const plan = await planJson(world);
    expect(plan.driftCounts.held_delete).toBe(2); // next pass: 10 % of the 18 left → 1 goes, 2 are held
    const status = JSON.parse((await world.cli('status', '--json')).stdout) as { lastPasses: { drift: Record<string, number> }[] };
    expect(status.lastPasses[0]!.drift.held_delete).toBe(3);
    expect((await world.cli('plan')).stdout).toMatch(/held: source pve1 already used its 1 delete this pass .*once --force/);

    const forced = await world.cli('once', '--force');
    expect(forced.code).toBe(0);
    expect(deletes(world)).toBe(5);
    expect(world.panel.table()).toHaveLength(15);
  });

  it('the count guard (maxDeletesPerPass) holds too, and each pass deletes at most that many', async () => {
    world = await start(8, { missingPassesBeforeDelete: 3, maxDeletesPerPass: 2, maxDeleteFraction: 1 });
    for (const vmid of [100, 101, 102, 103, 104]) world.pve.inventory.remove(vmid);
    for (let i = 0; i < 2; i++) await world.cli('once');
    const perPass: number[] = [];
    for (let i = 0; i < 3; i++) {
      const before = deletes(world);
      await world.cli('once');
      perPass.push(deletes(world) - before);
    }
    expect(perPass).toEqual([2, 2, 1]);
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

  it('an empty listing deletes nothing for 2 passes; if it persists, the guards let at most 10 % (min 1) go per pass and report the rest', async () => {
    world = await start(10);
    world.pve.faults.set({ kind: 'emptyList' });
    for (let i = 0; i < 2; i++) await world.cli('once');
    expect(deletes(world)).toBe(0);
    await world.cli('once');
    expect(deletes(world)).toBeLessThanOrEqual(1);
    const plan = await planJson(world);
    expect(plan.driftCounts.held_delete).toBeGreaterThanOrEqual(8);
    world.pve.faults.clear();
    await world.cli('once');
    expect(world.panel.table().length).toBeGreaterThanOrEqual(9);
  });

  it('a partial listing for 2 passes deletes nothing', async () => {
    world = await start(10);
    world.pve.faults.set({ kind: 'partialList', fraction: 0.3, times: 2 });
    for (let i = 0; i < 2; i++) await world.cli('once');
    for (let i = 0; i < 3; i++) await world.cli('once');
    expect(deletes(world)).toBe(0);
    expect(world.panel.table()).toHaveLength(10);
  });
});
