// A Proxmox node goes offline (a crash, a maintenance reboot, its pvestatd stopped): the cluster
// still lists its guests, but with `status: "unknown"` and no name, CPU, memory or disk. Those
// VMs exist, so their VPSes must never be deleted; their state is unknown, so nothing of them is
// sent; and it is a state of the cluster, not bad input, so it is reported once per node and the
// pass still succeeds for every other VM. Real wire: simulators on loopback, the daemon's CLI.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProxmoxSimulator } from '../../src/simulators/proxmox/index.js';
import { TOKEN_ID, TOKEN_SECRET, World } from '../support/world.js';

describe('a Proxmox node offline', () => {
  let world: World;
  beforeEach(async () => {
    world = await new World().start();
    world.addVm({ vmid: 100, name: 'web-a', node: 'pve-a' });
    world.addVm({ vmid: 101, name: 'db-b', node: 'pve-b' });
    world.addVm({ vmid: 102, name: 'ct-b', node: 'pve-b', type: 'lxc', tags: 'customer' });
    world.addVm({ vmid: 103, name: 'web-c', node: 'pve-c' });
    for (const vmid of [100, 101, 102, 103]) world.bill(vmid, 5);
    const first = await world.cli('once');
    expect(first.code, first.stderr).toBe(0);
    expect(world.panel.table()).toHaveLength(4);
  });
  afterEach(async () => {
    await world.stop();
  });

  it('leaves its guests on the panel as they are, however many passes it lasts, and syncs the rest', async () => {
    const before = world.panel.table();
    world.pve.inventory.setNodeOnline('pve-b', false);
    world.pve.inventory.update(100, { status: 'stopped' }); // a change on a node that is up

    // missingPassesBeforeDelete is 1 in this world: one pass would be enough to delete a VM taken for gone.
    for (let pass = 0; pass < 3; pass++) {
      const r = await world.cli('once');
      expect(r.code, r.stderr + r.stdout).toBe(0);
    }
    const after = world.panel.table();
    expect(after.find((v) => v.name === 'web-a')?.status).toBe('stopped');
    expect(after.filter((v) => v.name !== 'web-a')).toEqual(before.filter((v) => v.name !== 'web-a'));
    expect(world.panel.stats().byAction.delete ?? 0).toBe(0);

    const status = await world.cli('status', '--json');
    const json = JSON.parse(status.stdout) as { sources: Array<{ name: string; up: boolean; vms: number; unreported: unknown }>; lastPasses: Array<{ result: string; problems: string[] }> };
    expect(json.sources).toEqual([expect.objectContaining({ name: 'pve1', up: true, vms: 2, unreported: { vms: 2, nodes: { 'pve-b': 2 } } })]);
    // Not bad input, and not the daemon's fault: the passes succeed (readiness, VpsSyncStale stay calm).
    expect(json.lastPasses.slice(0, 3).map((p) => [p.result, p.problems])).toEqual([['success', []], ['success', []], ['success', []]]);
    const text = await world.cli('status');
    expect(text.stdout).toMatch(/2 listed without a state on pve-b \(2\): offline or not reporting; their panel VPSes are left as they are/);
  });

  it('a listing that names a guest, even without its state, ends a run of listings without it', async () => {
    world.writeConfig({ guards: { missingPassesBeforeDelete: 3, maxDeletesPerPass: 20, maxDeleteFraction: 0.5 } });
    // Two listings without db-b (say a flaky answer): two of the three a delete needs.
    world.pve.inventory.remove(101);
    for (let pass = 0; pass < 2; pass++) expect((await world.cli('once')).code).toBe(0);
    // Then it is listed again, its node offline: it exists, so that run of missing listings is over.
    world.addVm({ vmid: 101, name: 'db-b', node: 'pve-b' });
    world.pve.inventory.setNodeOnline('pve-b', false);
    expect((await world.cli('once')).code).toBe(0);
    // Missing once more after that is one listing without it, not three in a row.
    world.pve.inventory.setNodeOnline('pve-b', true);
    world.pve.inventory.remove(101);
    expect((await world.cli('once')).code).toBe(0);
    expect(world.panel.stats().byAction.delete ?? 0).toBe(0);
    expect(world.panel.table().map((v) => v.name)).toContain('db-b');
  });

  it('plan says what it could not see and exits 1 rather than claim the panel matches', async () => {
    world.pve.inventory.setNodeOnline('pve-b', false);
    const r = await world.cli('plan');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/No changes from what could be read; 2 guest\(s\) of source pve1 \(listed without a state\) could not be read/);
    expect(r.stdout).toMatch(/source pve1: 2 guest\(s\) listed without a state on pve-b \(2\) — offline or not reporting to its cluster or vCenter/);
    expect(r.stderr).toMatch(/plan is incomplete: 2 guest\(s\) of source pve1 were listed without a state \(their node or host is offline or not reporting\)/);
    const json = JSON.parse((await world.cli('plan', '--json')).stdout) as { complete: boolean; sources: Array<{ unreported: unknown }>; problems: string[] };
    expect(json.complete).toBe(false);
    expect(json.sources[0]!.unreported).toEqual([{ vmId: '101', node: 'pve-b' }, { vmId: '102', node: 'pve-b' }]);
    expect(json.problems).toEqual([]);
  });

  it('catches up when the node reports again: what changed meanwhile is sent, nothing else', async () => {
    world.pve.inventory.setNodeOnline('pve-b', false);
    expect((await world.cli('once')).code).toBe(0);
    world.pve.inventory.update(101, { status: 'stopped' }); // e.g. the node rebooted and the guest did not start
    world.pve.inventory.setNodeOnline('pve-b', true);
    const before = { ...world.panel.stats().byAction };
    expect((await world.cli('once')).code).toBe(0);
    const after = world.panel.stats().byAction;
    expect((after.update ?? 0) - (before.update ?? 0)).toBe(1);
    expect((after.create ?? 0) - (before.create ?? 0)).toBe(0);
    expect(world.panel.table().find((v) => v.name === 'db-b')?.status).toBe('stopped');
    const json = JSON.parse((await world.cli('status', '--json')).stdout) as { sources: Array<{ unreported: unknown }> };
    expect(json.sources[0]!.unreported).toBeNull();
  });

  it('a guest created on a node before it went offline is created once it reports', async () => {
    world.addVm({ vmid: 104, name: 'new-b', node: 'pve-b' });
    world.bill(104, 6);
    world.pve.inventory.setNodeOnline('pve-b', false);
    expect((await world.cli('once')).code).toBe(0);
    expect(world.panel.table().map((v) => v.name)).not.toContain('new-b');
    world.pve.inventory.setNodeOnline('pve-b', true);
    expect((await world.cli('once')).code).toBe(0);
    expect(world.panel.table().filter((v) => v.name === 'new-b')).toHaveLength(1);
  });

  it('the node in `url` down: the cluster is listed through `fallbackUrls`, that node\'s guests stay as they are', async () => {
    // pve-a's own API goes with it; another node of the same cluster (same inventory, same CA) answers.
    const other = new ProxmoxSimulator({ tokens: [{ tokenId: TOKEN_ID, secret: TOKEN_SECRET }], nodeOf: world.pve });
    await other.start();
    try {
      const source = (world.configObject().sources as Array<Record<string, unknown>>)[0]!;
      world.writeConfig({ sources: [{ ...source, fallbackUrls: [other.url] }], log: { level: 'warn' } });
      const before = world.panel.table();
      world.pve.faults.set({ kind: 'down', mode: 'refuse' });
      world.pve.inventory.setNodeOnline('pve-a', false);
      world.pve.inventory.update(103, { status: 'stopped' });

      const r = await world.cli('once');
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect(world.panel.table().find((v) => v.name === 'web-c')?.status).toBe('stopped');
      expect(world.panel.table().find((v) => v.name === 'web-a')).toEqual(before.find((v) => v.name === 'web-a'));
      expect(world.panel.stats().byAction.delete ?? 0).toBe(0);
      const logs = `${r.stdout}${r.stderr}`;
      expect(logs).toMatch(/failed \(cannot connect: connection refused\); listed through https:\/\/127\.0\.0\.1:\d+/);
      expect(logs).toMatch(/1 guest\(s\) listed without a state on pve-a \(1\)/);
      expect(logs).not.toContain(TOKEN_SECRET);
      const json = JSON.parse((await world.cli('status', '--json')).stdout) as { sources: Array<{ up: boolean; unreported: unknown }> };
      expect(json.sources[0]).toMatchObject({ up: true, unreported: { vms: 1, nodes: { 'pve-a': 1 } } });
    } finally {
      await other.stop();
    }
  });

  it('with an include filter on tags, an offline guest is still matched (tags come from its config)', async () => {
    world.writeConfig({
      sources: [{ ...(world.configObject().sources as Array<Record<string, unknown>>)[0], include: { tags: ['customer'] } }],
    });
    // Only vmid 102 carries the tag: the rest are no longer managed, which this test is not about.
    expect((await world.cli('once', '--force')).code).toBe(0);
    expect(world.panel.table().map((v) => v.name)).toEqual(['ct-b']);
    const kept = world.panel.table().find((v) => v.name === 'ct-b');
    expect(kept).toBeDefined();
    world.pve.inventory.setNodeOnline('pve-b', false);
    for (let pass = 0; pass < 2; pass++) expect((await world.cli('once')).code).toBe(0);
    expect(world.panel.table().find((v) => v.name === 'ct-b')).toEqual(kept);
  });
});
