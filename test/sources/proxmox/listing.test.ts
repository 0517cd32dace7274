// Listing a cluster over real HTTPS: units, power mapping, templates, filters, one request.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildListing } from '../../../src/sources/proxmox/listing.js';
import { GB, never, startHarness, type Harness } from './helpers.js';

const RESOURCES = '/api2/json/cluster/resources';
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

beforeEach(() => {
  const inv = h.sim.inventory;
  inv.clear();
  inv.upsert({ vmid: 100, type: 'qemu', node: 'pve', name: 'pxe.home.arpa', status: 'running', maxcpu: 1, maxmem: 4294967296, maxdisk: 34359738368, uptime: 669 });
  inv.upsert({ vmid: 103, type: 'lxc', node: 'pve2', pool: 'pool1', name: 'test1-lxc.home.arpa', status: 'stopped', maxcpu: 2, maxmem: 536870912, maxdisk: 10737418240, uptime: 0 });
  inv.upsert({ vmid: 104, type: 'qemu', node: 'pve2', name: 'odd-size', maxmem: 1.5 * 1048576 * 1024, maxdisk: 10737418241, tags: 'prod;web' });
  inv.upsert({ vmid: 105, type: 'qemu', node: 'pve', name: 'being-made', status: 'stopped', lock: 'create' });
  inv.upsert({ vmid: 106, type: 'qemu', node: 'pve', name: 'cloning', status: 'stopped', lock: 'clone', tags: 'Staging' });
  inv.upsert({ vmid: 107, type: 'qemu', node: 'pve3', name: 'backing-up', status: 'running', lock: 'backup', pool: 'customers' });
  inv.upsert({ vmid: 108, type: 'qemu', node: 'pve3', name: 'napping', status: 'paused', pool: 'customers', tags: 'prod' });
  inv.upsert({ vmid: 9000, type: 'qemu', node: 'pve', name: 'debian-12-template', status: 'stopped', template: 1 });
  h.sim.counters.reset();
});

describe('proxmox source listing', () => {
  it('lists qemu and lxc guests with units normalised and templates skipped', async () => {
    const { vms, rejected } = await h.source().listVms(never());
    expect(rejected).toEqual([]);
    const byId = new Map(vms.map((v) => [v.externalId, v]));
    expect([...byId.keys()].sort()).toEqual(['100', '103', '104', '105', '106', '107', '108']);
    expect(byId.get('100')).toEqual({
      source: 'pve1', externalId: '100', hypervisor: 'proxmox', name: 'pxe.home.arpa',
      cpu: 1, ramMb: 4096, diskGb: 32, os: null, power: 'running', location: 'pve',
    });
    expect(byId.get('103')).toMatchObject({ cpu: 2, ramMb: 512, diskGb: 10, power: 'stopped', location: 'pve2' });
    // One byte over 10 GiB is 11 GB: disks are rounded up, never down.
    expect(byId.get('104')).toMatchObject({ ramMb: 1536, diskGb: 11 });
  });

  it('maps lock create/clone to creating, keeps the status under other locks, paused to suspended', async () => {
    const { vms } = await h.source().listVms(never());
    const power = Object.fromEntries(vms.map((v) => [v.externalId, v.power]));
    expect(power).toMatchObject({ '105': 'creating', '106': 'creating', '107': 'running', '108': 'suspended' });
  });

  it('makes exactly one request per listing', async () => {
    const source = h.source();
    await source.listVms(never());
    await source.listVms(never());
    expect(h.sim.counters.get(RESOURCES)).toBe(2);
    expect(h.sim.counters.total()).toBe(2);
  });

  it('follows inventory changes between listings', async () => {
    const source = h.source();
    await source.listVms(never());
    h.sim.inventory.remove(100);
    h.sim.inventory.update(103, { status: 'running', maxmem: 2 * GB });
    const { vms } = await source.listVms(never());
    expect(vms.find((v) => v.externalId === '100')).toBeUndefined();
    expect(vms.find((v) => v.externalId === '103')).toMatchObject({ power: 'running', ramMb: 2048 });
  });

  it('sets the guests of an offline node aside as unreported, neither rejected nor listed', async () => {
    h.sim.inventory.setNodeOnline('pve3', false);
    const { vms, rejected, unreported } = await h.source().listVms(never());
    expect(rejected).toEqual([]);
    expect(unreported).toEqual([{ vmId: '107', node: 'pve3' }, { vmId: '108', node: 'pve3' }]);
    expect(vms.map((v) => v.externalId).sort()).toEqual(['100', '103', '104', '105', '106']);
    // The include filters still apply: pool and tags come from the cluster's configuration.
    const filtered = await h.source({ include: { tags: ['prod'] } }).listVms(never());
    expect(filtered.unreported).toEqual([{ vmId: '108', node: 'pve3' }]);
    expect(filtered.vms.map((v) => v.externalId)).toEqual(['104']);
  });

  const stateless = { id: 'qemu/300', vmid: 300, node: 'pve9', type: 'qemu', status: 'unknown' };
  it.each([
    { name: "Proxmox's shape: unreported", entry: stateless, unreported: [{ vmId: '300', node: 'pve9' }], rejected: [] },
    { name: 'vmid as text: unreported', entry: { ...stateless, vmid: '300' }, unreported: [{ vmId: '300', node: 'pve9' }], rejected: [] },
    { name: 'vmid only in id: unreported', entry: { ...stateless, vmid: undefined }, unreported: [{ vmId: '300', node: 'pve9' }], rejected: [] },
    { name: 'no node: rejected, its VM unknown', entry: { ...stateless, node: undefined }, unreported: [], rejected: [{ vmId: '300', problem: expect.stringMatching(/^node must be a string \(node name\);/) }] },
    { name: 'control characters in node: rejected', entry: { ...stateless, node: 'pve\n9' }, unreported: [], rejected: [{ vmId: '300' }] },
    { name: 'no readable id at all: rejected, names no VM', entry: { ...stateless, vmid: 'x', id: 'x' }, unreported: [], rejected: [{ namesNoVm: true }] },
    { name: 'another unexpected status stays bad input', entry: { ...stateless, status: 'exploded' }, unreported: [], rejected: [{ vmId: '300' }] },
  ])('an entry without a state: $name', ({ entry, unreported, rejected }) => {
    const r = buildListing('pve1', [entry]);
    expect(r.vms).toEqual([]);
    expect(r.unreported).toEqual(unreported);
    expect(r.rejected).toEqual(rejected.map((x) => expect.objectContaining(x)));
  });

  it('treats an empty list as an empty (successful) listing: the guards decide what that means', async () => {
    h.sim.faults.set({ kind: 'emptyList', times: 1 });
    expect((await h.source().listVms(never())).vms).toEqual([]);
  });

  const filterCases: { name: string; include?: object; exclude?: object; ids: string[] }[] = [
    { name: 'no filter', ids: ['100', '103', '104', '105', '106', '107', '108'] },
    { name: 'include one node', include: { nodes: ['pve2'] }, ids: ['103', '104'] },
    { name: 'include two nodes', include: { nodes: ['pve2', 'pve3'] }, ids: ['103', '104', '107', '108'] },
    { name: 'include pool', include: { pools: ['customers'] }, ids: ['107', '108'] },
    { name: 'include tag', include: { tags: ['prod'] }, ids: ['104', '108'] },
    { name: 'tags match case-insensitively', include: { tags: ['staging'] }, ids: ['106'] },
    { name: 'include node AND pool', include: { nodes: ['pve3'], pools: ['customers'] }, ids: ['107', '108'] },
    { name: 'include node AND tag', include: { nodes: ['pve3'], tags: ['prod'] }, ids: ['108'] },
    { name: 'include node AND tag, none match', include: { nodes: ['pve'], tags: ['prod'] }, ids: [] },
    { name: 'exclude node', exclude: { nodes: ['pve'] }, ids: ['103', '104', '107', '108'] },
    { name: 'exclude node OR tag', exclude: { nodes: ['pve'], tags: ['web'] }, ids: ['103', '107', '108'] },
    { name: 'exclude pool', exclude: { pools: ['customers', 'pool1'] }, ids: ['100', '104', '105', '106'] },
    { name: 'include then exclude', include: { nodes: ['pve3'] }, exclude: { tags: ['prod'] }, ids: ['107'] },
    { name: 'empty include list means no constraint', include: { nodes: [] }, ids: ['100', '103', '104', '105', '106', '107', '108'] },
  ];
  it.each(filterCases)('filters: $name', async ({ include, exclude, ids }) => {
    const { vms } = await h.source({ include, exclude }).listVms(never());
    expect(vms.map((v) => v.externalId).sort()).toEqual(ids);
  });

  it('lists a seeded cluster of 5,000 guests in one request, every non-template guest mapped', async () => {
    h.sim.inventory.seed(5000, { nodes: 4, seed: 7 });
    h.sim.counters.reset();
    const guests = h.sim.inventory.list();
    const { vms, rejected } = await h.source().listVms(never());
    expect(rejected).toEqual([]);
    expect(vms.length).toBe(guests.filter((g) => g.template === 0).length);
    expect(h.sim.counters.total()).toBe(1);
    const g = guests.find((x) => x.template === 0)!;
    expect(vms.find((v) => v.externalId === String(g.vmid))).toMatchObject({
      ramMb: g.maxmem / 1048576, diskGb: g.maxdisk / GB, cpu: g.maxcpu, location: g.node,
    });
  });
});
