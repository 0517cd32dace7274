// One bad guest entry is rejected with a reason saying what and where; every other guest is
// still listed (a partial answer is not an unknown source).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BAD_ENTRY_CASES, type BadEntryCase } from '../../../src/simulators/proxmox/index.js';
import { parseGuestEntry } from '../../../src/sources/proxmox/schema.js';
import { createGuestFilter } from '../../../src/sources/proxmox/filter.js';
import { buildListing } from '../../../src/sources/proxmox/listing.js';
import { never, startHarness, type Harness } from './helpers.js';

let h: Harness;
const GOOD = 30;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.sim.faults.clear();
  h.sim.inventory.clear();
  for (let i = 0; i < GOOD; i++) h.sim.inventory.upsert({ vmid: 200 + i, name: `good-${i}` });
});

const expected: Record<BadEntryCase, { where: string; problem: RegExp }> = {
  vmidString: { where: 'pve1: qemu/990001', problem: /^vmid must be a number, got string$/ },
  vmidMissing: { where: 'pve1: qemu/990002', problem: /^vmid is missing$/ },
  memString: { where: 'pve1: qemu/990003', problem: /^maxmem must be a number of bytes$/ },
  memNegative: { where: 'pve1: qemu/990004', problem: /^maxmem must be positive$/ },
  memAbsurd: { where: 'pve1: qemu/990005', problem: /^maxmem is more than 64 TiB$/ },
  diskAbsurd: { where: 'pve1: qemu/990006', problem: /^maxdisk is more than 1 PiB$/ },
  cpuAbsurd: { where: 'pve1: qemu/990007', problem: /^maxcpu must be ≤ 1024 cores$/ },
  nameHuge: { where: 'pve1: qemu/990008', problem: /^name is 10240 characters long \(limit 255\)$/ },
  nameControl: { where: 'pve1: qemu/990009', problem: /^name contains control characters$/ },
  statusUnknown: { where: 'pve1: qemu/990010', problem: /^status must be running, stopped or paused, got "exploded"$/ },
  typeUnknown: { where: 'pve1: openvz/990011', problem: /^type must be "qemu" or "lxc"$/ },
  nodeMissing: { where: 'pve1: qemu/990012', problem: /^node must be a string \(node name\)$/ },
};

describe('proxmox source: bad entries', () => {
  it.each(BAD_ENTRY_CASES)('%s is rejected alone, the good guests are listed', async (kind) => {
    h.sim.faults.set({ kind: 'badEntries', cases: [kind] });
    const { vms, rejected } = await h.source().listVms(never());
    expect(vms).toHaveLength(GOOD);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.where).toBe(expected[kind].where);
    expect(rejected[0]!.problem).toMatch(expected[kind].problem);
  });

  it('all bad entries at once: each rejected individually', async () => {
    h.sim.faults.set({ kind: 'badEntries' });
    const { vms, rejected } = await h.source().listVms(never());
    expect(vms).toHaveLength(GOOD);
    expect(rejected.map((r) => r.where)).toEqual(BAD_ENTRY_CASES.map((k) => expected[k].where));
    // A rejection message stays short even when the value was 10 kB.
    for (const r of rejected) expect(r.problem.length).toBeLessThan(200);
  });

  it('a duplicate vmid (qemu and lxc share the space) is rejected, the first kept', async () => {
    // The simulator keys guests by vmid and cannot hold a duplicate, so the raw list is built here.
    h.sim.inventory.upsert({ vmid: 990100, type: 'qemu', node: 'pve1', name: 'first' });
    const entries = h.sim.inventory.guestEntries();
    const dup = { ...entries.find((e) => e.vmid === 990100)!, id: 'lxc/990100', type: 'lxc', name: 'second' };
    const result = buildListing('pve1', [...entries, dup]);
    expect(result.vms.filter((v) => v.externalId === '990100').map((v) => v.name)).toEqual(['first']);
    expect(result.rejected).toEqual([{ where: 'pve1: lxc/990100', problem: 'duplicate vmid 990100 (already listed as qemu/990100 on pve1); kept the first', vmId: '990100', source: 'pve1' }]);
  });

  // A rejected entry that still names its guest makes that VM unknown for the pass, not missing
  // (a VM missing for long enough is deleted): the id is read from `vmid`, else from `id`.
  it.each([
    ['vmid as a string', { id: 'qemu/100', vmid: '100', node: 'pve1' }, '100'],
    ['vmid missing, id names the guest', { id: 'lxc/101', node: 'pve1', maxmem: 'x' }, '101'],
    ['vmid unusable, id names the guest', { id: 'qemu/102', vmid: -1, node: 'pve1' }, '102'],
    ['neither', { id: 'storage/local', node: 'pve1' }, undefined],
  ])('rejected entry, %s → vmId %s', (_name, raw, vmId) => {
    const [rejected] = buildListing('pve1', [raw]).rejected;
    expect(rejected?.vmId).toBe(vmId);
  });

  // With a filter, an entry whose node, pool or tags cannot be read cannot be told managed or not:
  // filtered out, a managed VM would look gone (deleted in time); it is rejected, its VM unknown.
  it.each([
    ['node missing', { id: 'qemu/300', vmid: 300, type: 'qemu', name: 'a', status: 'running', maxcpu: 1, maxmem: 1, maxdisk: 1 }],
    ['node not text', { id: 'qemu/300', vmid: 300, type: 'qemu', node: 7, name: 'a', status: 'running', maxcpu: 1, maxmem: 1, maxdisk: 1 }],
    ['pool not text', { id: 'qemu/300', vmid: 300, type: 'qemu', node: 'pve1', pool: 5, name: 'a', status: 'running', maxcpu: 1, maxmem: 1, maxdisk: 1 }],
  ])('with a filter, %s → rejected as unknown, not filtered out', (_name, raw) => {
    const keep = createGuestFilter({ nodes: ['pve1'] }, { pools: ['infra'] })!;
    const result = buildListing('pve1', [raw], keep);
    expect(result.filteredOut).toBe(0);
    expect(result.vms).toEqual([]);
    expect(result.rejected).toEqual([{ where: 'pve1: qemu/300', problem: expect.stringMatching(/^node, pool or tags is not text|^node must be/), vmId: '300', source: 'pve1' }]);
  });

  it('with a filter, a readable entry on another node is filtered out, garbage and all', () => {
    const keep = createGuestFilter({ nodes: ['pve1'] }, undefined)!;
    const result = buildListing('pve1', [{ id: 'qemu/301', vmid: 301, node: 'pve9', maxmem: 'garbage' }], keep);
    expect(result).toMatchObject({ filteredOut: 1, rejected: [], vms: [] });
  });

  it('a non-object entry is rejected with its position', async () => {
    const result = buildListing('pve1', [null, 'x', 42]);
    expect(result.rejected).toEqual([
      { where: 'pve1: entry #0', problem: 'entry is null, not an object', namesNoVm: true },
      { where: 'pve1: entry #1', problem: 'entry is string, not an object', namesNoVm: true },
      { where: 'pve1: entry #2', problem: 'entry is number, not an object', namesNoVm: true },
    ]);
  });
});

describe('guest entry schema limits', () => {
  const base = { id: 'qemu/100', vmid: 100, type: 'qemu', node: 'pve', name: 'a', status: 'running', template: 0, maxcpu: 1, maxmem: 1, maxdisk: 0 };
  const cases: { name: string; patch: Record<string, unknown>; ok: boolean }[] = [
    { name: 'exactly 64 TiB RAM', patch: { maxmem: 64 * 1024 ** 4 }, ok: true },
    { name: 'one byte over 64 TiB', patch: { maxmem: 64 * 1024 ** 4 + 1 }, ok: false },
    { name: 'exactly 1 PiB disk', patch: { maxdisk: 1024 ** 5 }, ok: true },
    { name: 'disk 0 (diskless PXE guest)', patch: { maxdisk: 0 }, ok: true },
    { name: '1024 cores', patch: { maxcpu: 1024 }, ok: true },
    { name: '1025 cores', patch: { maxcpu: 1025 }, ok: false },
    { name: 'fractional LXC cpulimit', patch: { maxcpu: 1.5 }, ok: true },
    { name: '0 cores', patch: { maxcpu: 0 }, ok: false },
    { name: 'name of 255 chars', patch: { name: 'n'.repeat(255) }, ok: true },
    { name: 'name of 256 chars', patch: { name: 'n'.repeat(256) }, ok: false },
    { name: 'empty name', patch: { name: '' }, ok: false },
    { name: 'unicode name', patch: { name: 'сервер-1' }, ok: true },
    { name: 'vmid 99', patch: { vmid: 99 }, ok: false },
    { name: 'vmid 1.5', patch: { vmid: 1.5 }, ok: false },
    { name: 'template "1" string', patch: { template: '1' }, ok: false },
    { name: 'template missing (old lxc)', patch: { template: undefined }, ok: true },
    { name: 'extra fields Proxmox adds', patch: { diskread: 5, 'new-field': { x: 1 } }, ok: true },
    { name: 'lock as number', patch: { lock: 1 }, ok: false },
  ];
  it.each(cases)('$name → ok=$ok', ({ patch, ok }) => {
    expect(parseGuestEntry({ ...base, ...patch }).ok).toBe(ok);
  });
});
