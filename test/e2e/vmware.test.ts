// VMware end to end: a vSphere simulator (both API flavours) beside a Proxmox one, through the
// real CLI to the panel simulator. A misbehaving vCenter must never disturb the Proxmox side.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VsphereSimulator } from '../../src/simulators/vsphere/server.js';
import { World } from '../support/world.js';

const GIB = 1024 ** 3;
// The main site's Proxmox servers plus a table for VMware ones, joined by a custom query.
const QUERY = `
  SELECT CAST("proxmoxId" AS TEXT) AS vm_id, "userId" AS user_id, "id" AS billing_id, "status" AS status, 'pve1' AS source
    FROM "server" WHERE "proxmoxId" IS NOT NULL
  UNION ALL
  SELECT vm_id, user_id, 'vmw-' || id AS billing_id, status, 'vc1' AS source FROM vmware_server`;

describe.each(['api', 'rest'] as const)('vSphere source over /%s', (flavor) => {
  let world: World;
  let vc: VsphereSimulator;

  /** Starts a vCenter simulator and points the config at it (beside the world's Proxmox). */
  async function startVcenter(listLimit?: number): Promise<VsphereSimulator> {
    const sim = new VsphereSimulator({ username: 'sync@vsphere.local', password: 'vc-password-123', flavors: flavor === 'rest' ? ['rest'] : ['api', 'rest'], ...(listLimit ? { listLimit } : {}) });
    const { url, caPem } = await sim.start();
    sim.seed(0, { clusters: 2, hostsPerCluster: 2 });
    writeFileSync(join(world.dir, 'vc-ca.pem'), caPem);
    const [pve] = world.configObject().sources as object[];
    const vcSource = { name: 'vc1', type: 'vmware', url, username: 'sync@vsphere.local', password: 'vc-password-123', tls: { caFile: join(world.dir, 'vc-ca.pem') }, apiFlavor: 'auto', timeoutMs: 3000, ...(listLimit ? { listLimit } : {}) };
    world.writeConfig({
      sources: [pve, vcSource],
      billing: { driver: 'sqlite', url: world.billingPath, query: QUERY },
      guards: { missingPassesBeforeDelete: 2, maxDeletesPerPass: 20, maxDeleteFraction: 0.5 },
    });
    return sim;
  }

  beforeEach(async () => {
    world = await new World().start();
    world.billingSql('CREATE TABLE vmware_server (id INTEGER PRIMARY KEY, vm_id TEXT NOT NULL, user_id INTEGER NOT NULL, status TEXT NOT NULL)');
    vc = await startVcenter();
  });
  afterEach(async () => {
    await vc.stop();
    await world.stop();
  });

  const billVm = (id: string, userId: number, status = 'active') => world.billingSql(`INSERT INTO vmware_server (vm_id, user_id, status) VALUES ('${id}', ${userId}, '${status}')`);
  const row = (name: string) => world.panel.table().find((r) => r.name === name);

  it('initial sync, power change, deletion after the guard, session expiry mid-life', async () => {
    const web = vc.upsertVm({ name: 'vmw-web', cpu: 4, memoryMiB: 8192, disks: [40 * GIB, 10 * GIB + 1] });
    const db = vc.upsertVm({ name: 'vmw-db', power: 'POWERED_OFF', tools: false });
    vc.upsertVm({ name: 'vmw-unpaid' });
    billVm(web, 7);
    billVm(db, 8);
    world.addVm({ vmid: 100, name: 'pve-vm' });
    world.bill(100, 5);

    const first = await world.cli('once');
    expect(first.code, first.stdout).toBe(0);
    expect(row('vmw-web')).toMatchObject({ user_id: 7, cpu: 4, ram: 8192, disk: 51, status: 'running', hypervisor: 'vmware' });
    expect(row('vmw-db')).toMatchObject({ user_id: 8, status: 'stopped', hypervisor: 'vmware' });
    expect(row('pve-vm')).toMatchObject({ hypervisor: 'proxmox' });
    expect(world.panel.table()).toHaveLength(3);

    vc.setPower(web, 'POWERED_OFF');
    vc.expireSessions();
    const before = world.panel.stats().byAction;
    expect((await world.cli('once')).code).toBe(0);
    expect((world.panel.stats().byAction.update ?? 0) - (before.update ?? 0)).toBe(1);
    expect(row('vmw-web')?.status).toBe('stopped');

    vc.removeVm(db);
    await world.cli('once');
    expect(row('vmw-db')).toBeDefined(); // missing once: the guard waits
    await world.cli('once');
    expect(row('vmw-db')).toBeUndefined();
    expect(world.panel.table()).toHaveLength(2);
  });

  it('each run reuses the VM details saved in the state file; a disk resize they hide reaches the panel with once --full', async () => {
    const web = vc.upsertVm({ name: 'vmw-web', cpu: 2, memoryMiB: 2048, disks: [20 * GIB] });
    billVm(web, 7);
    expect((await world.cli('once')).code).toBe(0);
    const fetched = vc.counters.get('vm.get');
    expect(fetched).toBe(1);

    // A disk resize does not show in the VM list entry: a new process trusts the saved detail
    // (refreshed within 0.5-1.5 h, as one running daemon would) and makes no per-VM call.
    vc.setDisks(web, [20 * GIB, 30 * GIB]);
    expect((await world.cli('once')).code).toBe(0);
    expect(vc.counters.get('vm.get')).toBe(fetched);
    expect(row('vmw-web')?.disk).toBe(20);

    // The operator's lever: a full resync fetches every detail again.
    const full = await world.cli('once', '--full');
    expect(full.code, full.stdout).toBe(0);
    expect(vc.counters.get('vm.get')).toBe(fetched + 1);
    expect(row('vmw-web')?.disk).toBe(50);
  });

  // Each `once` is a new process: it has no memory of the VM but the state file. A VM whose list
  // entry turns invalid, or whose detail cannot be fetched with none saved (first run after an
  // upgrade), is unknown to that process: it must never be taken for gone.
  it.each([
    ['its list entry turns invalid', (id: string) => vc.upsertVm({ id, name: 'vmw-web', listOverride: { cpu_count: 0 } })],
    ['its detail fails with none saved', (id: string) => {
      vc.failDetail(id);
      vc.setPower(id, 'POWERED_OFF'); // a changed list entry: the detail must be fetched again
      const db = new Database(world.statePath);
      db.exec('DELETE FROM vsphere_detail_cache_v1');
      db.close();
    }],
  ])('a known VM is never deleted when %s in a new process', async (_what, breakIt) => {
    const web = vc.upsertVm({ name: 'vmw-web' });
    const other = vc.upsertVm({ name: 'vmw-other' });
    billVm(web, 7);
    billVm(other, 8);
    expect((await world.cli('once')).code).toBe(0);
    expect(row('vmw-web')).toBeDefined();

    breakIt(web);
    for (let i = 0; i < 3; i++) {
      const r = await world.cli('once');
      expect(r.stdout).toMatch(new RegExp(`rejected vc1: ${web}`));
    }
    expect(row('vmw-web')).toBeDefined();
    expect(world.panel.stats().byAction.delete ?? 0).toBe(0);
  });

  it('a vCenter that is down changes and deletes nothing of it, while Proxmox still syncs in the same pass', async () => {
    const web = vc.upsertVm({ name: 'vmw-web' });
    billVm(web, 7);
    await world.cli('once');
    vc.setDown(true);
    world.addVm({ vmid: 100, name: 'pve-vm' });
    world.bill(100, 5);
    for (let i = 0; i < 3; i++) {
      const r = await world.cli('once');
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/source vc1 unknown/);
    }
    expect(row('pve-vm')).toBeDefined();
    expect(row('vmw-web')).toBeDefined();
    vc.setDown(false);
    expect((await world.cli('once')).code).toBe(0);
    expect(world.panel.table()).toHaveLength(2);
  });

  it('one failed shard makes the whole vCenter unknown: nothing of it is deleted', async () => {
    // A listing limit of 3 forces the source to list per cluster, as above 4000 VMs on a real vCenter.
    await vc.stop();
    vc = await startVcenter(3);
    const ids = Array.from({ length: 6 }, (_, i) => vc.upsertVm({ name: `vmw-${i}`, host: [...vc.inventory.hosts.keys()][i % 4]! }));
    ids.forEach((id, i) => billVm(id, 10 + i));
    expect((await world.cli('once')).code).toBe(0);
    expect(world.panel.table()).toHaveLength(6);

    vc.failShard([...vc.inventory.clusters.keys()][0]!);
    for (let i = 0; i < 3; i++) {
      const r = await world.cli('once');
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/source vc1 unknown: .*(shard|cluster)/i);
    }
    expect(world.panel.table()).toHaveLength(6);
    vc.clearFaults();
    expect((await world.cli('once')).code).toBe(0);
  });

  it('an ESXi host vCenter has lost: its VMs stay on the panel as they were, the rest syncs, passes succeed', async () => {
    const [h1, h2] = [...vc.inventory.hosts.keys()];
    const web = vc.upsertVm({ name: 'vmw-web', host: h1 });
    const db = vc.upsertVm({ name: 'vmw-db', host: h1 });
    const app = vc.upsertVm({ name: 'vmw-app', host: h2 });
    [web, db, app].forEach((id, i) => billVm(id, 20 + i));
    expect((await world.cli('once')).code).toBe(0);
    const before = world.panel.table();
    expect(before).toHaveLength(3);

    vc.setHostConnection(h1!, 'NOT_RESPONDING');
    vc.setPower(web, 'POWERED_OFF'); // unseen by vCenter while the host is lost
    vc.setPower(app, 'SUSPENDED'); // on a host that is fine
    for (let pass = 0; pass < 3; pass++) {
      const r = await world.cli('once');
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
    expect(row('vmw-app')?.status).toBe('suspended');
    expect(world.panel.table().filter((v) => v.name !== 'vmw-app')).toEqual(before.filter((v) => v.name !== 'vmw-app'));
    expect(world.panel.stats().byAction.delete ?? 0).toBe(0);
    const status = JSON.parse((await world.cli('status', '--json')).stdout) as { sources: Array<{ name: string; unreported: unknown }>; lastPasses: Array<{ result: string }> };
    const hostName = vc.inventory.hosts.get(h1!)!.name;
    expect(status.sources.find((s) => s.name === 'vc1')?.unreported).toEqual({ vms: 2, nodes: { [hostName]: 2 } });
    expect(status.lastPasses[0]?.result).toBe('success');

    // The host is back: what the VM did meanwhile reaches the panel.
    vc.setHostConnection(h1!, 'CONNECTED');
    expect((await world.cli('once')).code).toBe(0);
    expect(row('vmw-web')?.status).toBe('stopped');
    const after = JSON.parse((await world.cli('status', '--json')).stdout) as { sources: Array<{ name: string; unreported: unknown }> };
    expect(after.sources.find((s) => s.name === 'vc1')?.unreported).toBeNull();
  });

  it('a host DPM put in standby is not lost: its powered-off VMs sync as stopped, nothing is unreported', async () => {
    const [h1] = [...vc.inventory.hosts.keys()];
    const idle = vc.upsertVm({ name: 'vmw-idle', host: h1, power: 'POWERED_ON' });
    billVm(idle, 30);
    expect((await world.cli('once')).code).toBe(0);
    expect(row('vmw-idle')?.status).toBe('running');

    // DPM: the VM is shut down (its running peers would be migrated), then the host sleeps.
    vc.setPower(idle, 'POWERED_OFF');
    vc.setHostStandby(h1!, true);
    const r = await world.cli('once');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(row('vmw-idle')?.status).toBe('stopped');
    const status = JSON.parse((await world.cli('status', '--json')).stdout) as { sources: Array<{ name: string; unreported: unknown }> };
    expect(status.sources.find((s) => s.name === 'vc1')?.unreported).toBeNull();
  });
});
