// The first slice end to end: Proxmox simulator → daemon (real CLI) → panel simulator,
// with a SQLite billing database in the main site's layout. Everything over real HTTP(S).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GIB, World } from '../support/world.js';

describe('first slice: Proxmox → snapshot → panel', () => {
  let world: World;
  beforeEach(async () => {
    world = await new World().start();
  });
  afterEach(async () => {
    await world.stop();
  });

  it('initial sync creates one VPS per owned VM, RAM in MB, user from billing, OS from billing', async () => {
    world.addVm({ vmid: 100, name: 'web-01', maxmem: 8 * GIB, maxdisk: 50 * GIB, maxcpu: 4 });
    world.addVm({ vmid: 101, type: 'lxc', name: 'ct-01', status: 'stopped', maxmem: 512 * 1024 * 1024, maxdisk: 10 * GIB + 1, maxcpu: 1 });
    world.addVm({ vmid: 102, name: 'tmpl', template: 1 });
    world.bill(100, 5);
    world.bill(101, 6, { osId: 2 });

    const r = await world.cli('once');
    expect(r.code, r.stderr + r.stdout).toBe(0);

    const rows = world.panel.table().map(({ user_id, name, cpu, ram, disk, os, status, hypervisor }) => ({ user_id, name, cpu, ram, disk, os, status, hypervisor }));
    expect(rows).toEqual(
      expect.arrayContaining([
        { user_id: 5, name: 'web-01', cpu: 4, ram: 8192, disk: 50, os: 'Ubuntu 22.04 LTS', status: 'running', hypervisor: 'proxmox' },
        { user_id: 6, name: 'ct-01', cpu: 1, ram: 512, disk: 11, os: 'Debian 12', status: 'stopped', hypervisor: 'proxmox' },
      ]),
    );
    expect(rows).toHaveLength(2);
  });

  it('a second pass with no changes sends zero requests to the panel', async () => {
    world.addVm({ vmid: 100 });
    world.bill(100, 5);
    expect((await world.cli('once')).code).toBe(0);
    const before = world.panel.stats().total;
    const r = await world.cli('once');
    expect(r.code).toBe(0);
    expect(world.panel.stats().total - before).toBe(0);
  });

  it('stopping a VM produces exactly one update; removing it one delete', async () => {
    world.addVm({ vmid: 100 });
    world.bill(100, 5);
    await world.cli('once');
    const id = world.panel.table()[0]!.id;

    world.pve.inventory.update(100, { status: 'stopped' });
    const before = { ...world.panel.stats().byAction };
    expect((await world.cli('once')).code).toBe(0);
    const after = world.panel.stats().byAction;
    expect((after.update ?? 0) - (before.update ?? 0)).toBe(1);
    expect((after.create ?? 0) - (before.create ?? 0)).toBe(0);
    expect(world.panel.table()).toMatchObject([{ id, status: 'stopped' }]);

    world.pve.inventory.remove(100);
    expect((await world.cli('once')).code).toBe(0);
    expect((world.panel.stats().byAction.delete ?? 0)).toBe(1);
    expect(world.panel.table()).toEqual([]);
  });

  it('an unowned VM is reported unbilled and not sent', async () => {
    world.addVm({ vmid: 100, name: 'paid' });
    world.addVm({ vmid: 200, name: 'leak' });
    world.bill(100, 5);
    const plan = await world.cli('plan');
    expect(plan.code).toBe(2);
    expect(plan.stdout).toMatch(/unbilled\s+pve1\/200 \(leak/);
    await world.cli('once');
    expect(world.panel.table().map((r) => r.name)).toEqual(['paid']);
    const json = JSON.parse((await world.cli('plan', '--json')).stdout) as { driftCounts: Record<string, number>; drift: { class: string; key?: string }[] };
    expect(json.driftCounts.unbilled).toBe(1);
    expect(json.drift.find((d) => d.class === 'unbilled')?.key).toBe('pve1/200');
  });

  it('a Proxmox outage sends nothing and deletes nothing', async () => {
    world.addVm({ vmid: 100 });
    world.addVm({ vmid: 101 });
    world.bill(100, 5);
    world.bill(101, 5);
    await world.cli('once');
    const requests = world.panel.stats().total;

    world.pve.faults.set({ kind: 'down' });
    for (let i = 0; i < 3; i++) {
      const r = await world.cli('once');
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/source pve1 unknown: .*(connect|refused)/i);
    }
    expect(world.panel.stats().total).toBe(requests);
    expect(world.panel.table()).toHaveLength(2);
  });

  it('an empty listing or a 500 from Proxmox deletes nothing', async () => {
    world.addVm({ vmid: 100 });
    world.bill(100, 5);
    await world.cli('once');
    world.pve.faults.set({ kind: 'status500' });
    expect((await world.cli('once')).code).toBe(1);
    world.pve.faults.clear();
    world.pve.faults.set({ kind: 'badJson' });
    expect((await world.cli('once')).code).toBe(1);
    world.pve.faults.clear();
    expect(world.panel.table()).toHaveLength(1);
  });

  it('a panel outage loses nothing: the next pass after recovery converges', async () => {
    world.addVm({ vmid: 100 });
    world.addVm({ vmid: 101 });
    world.bill(100, 5);
    world.bill(101, 6);
    await world.panel.down();
    const failed = await world.cli('once');
    expect(failed.code).toBe(1);
    expect(world.panel.table()).toEqual([]);

    await world.panel.up();
    const ok = await world.cli('once');
    expect(ok.code, ok.stdout).toBe(0);
    expect(world.panel.table()).toHaveLength(2);
    const before = world.panel.stats().total;
    await world.cli('once');
    expect(world.panel.stats().total).toBe(before);
  });

  it('status shows the last passes and the snapshot', async () => {
    world.addVm({ vmid: 100 });
    world.bill(100, 5);
    await world.cli('once');
    const text = await world.cli('status');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/Panel VPSes known:\s+1/);
    expect(text.stdout).toMatch(/pve1\s+proxmox\s+up, 1 VM/);
    const json = JSON.parse((await world.cli('status', '--json')).stdout) as { snapshot: { vps: number }; lastPasses: { result: string }[] };
    expect(json.snapshot.vps).toBe(1);
    expect(json.lastPasses[0]?.result).toBe('success');
  });
});
