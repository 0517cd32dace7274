// End-to-end listing against the simulator over HTTPS, on both API flavours.
import { afterEach, describe, expect, test } from 'vitest';
import { createVmwareSource, VsphereError, type RequestLike, type VmwareSource } from '../../../src/sources/vmware/index.js';
import { captureLogger, noAbort, PASSWORD, sourceConfig, startSim, type SimHandle } from './helpers.js';

const GIB = 1024 ** 3;
let handle: SimHandle | null = null;
let source: VmwareSource | null = null;

afterEach(async () => {
  await source?.close();
  await handle?.stop();
  source = null;
  handle = null;
});

async function setup(flavor: 'api' | 'rest', overrides: Record<string, unknown> = {}) {
  handle = await startSim();
  const { logger, lines } = captureLogger();
  source = createVmwareSource(sourceConfig(handle, { apiFlavor: flavor, ...overrides }), { logger });
  return { sim: handle.sim, source, lines };
}

function byId<T extends { externalId: string }>(vms: readonly T[]): Map<string, T> {
  return new Map(vms.map((v) => [v.externalId, v]));
}

describe.each(['api', 'rest'] as const)('vmware source over /%s', (flavor) => {
  test('initial listing maps every field', async () => {
    const { sim, source } = await setup(flavor);
    const web = sim.upsertVm({ name: 'web01', cpu: 2, memoryMiB: 4096, disks: [20 * GIB, 10.5 * GIB], guestFullName: 'Ubuntu Linux (64-bit)' });
    const db = sim.upsertVm({ name: 'db01', power: 'POWERED_OFF', cpu: 8, memoryMiB: 16384, disks: [100 * GIB], guestOs: 'DEBIAN11_64' });
    const paused = sim.upsertVm({ name: 'paused', power: 'SUSPENDED', cpu: 1, memoryMiB: 1024, disks: [] });
    const bare = sim.upsertVm({ name: 'bare', cpu: 4, memoryMiB: 8192, omitSizesInList: true });
    const oldSpelling = sim.upsertVm({ name: 'old', cpu: 1, memoryMiB: 512, omitSizesInList: true, listOverride: { cpu_count: 1, memory_size_mib: 512 } });

    const { vms, rejected } = await source.listVms(noAbort());
    expect(rejected).toEqual([]);
    const got = byId(vms);
    expect(got.get(web)).toEqual({
      source: 'vc1', externalId: web, hypervisor: 'vmware', name: 'web01', cpu: 2, ramMb: 4096, diskGb: 31, os: 'Ubuntu Linux (64-bit)', power: 'running',
    });
    // Powered off: Tools cannot answer, so the guest id stands in (no defaultGuestOs configured).
    expect(got.get(db)).toMatchObject({ power: 'stopped', cpu: 8, ramMb: 16384, diskGb: 100, os: 'DEBIAN11_64' });
    // No disks: 1 GB, the least the panel takes (0 would be refused for good).
    expect(got.get(paused)).toMatchObject({ power: 'suspended', diskGb: 1 });
    // cpu_count / memory_size_MiB missing from the list entry: taken from the detail.
    expect(got.get(bare)).toMatchObject({ cpu: 4, ramMb: 8192 });
    expect(got.get(oldSpelling)).toMatchObject({ cpu: 1, ramMb: 512 });
    expect(sim.counters.get('session.create')).toBe(1);
  });

  test('power change and deletion are visible on the next listing; one login for many passes', async () => {
    const { sim, source } = await setup(flavor);
    const a = sim.upsertVm({ name: 'a' });
    const b = sim.upsertVm({ name: 'b' });
    expect((await source.listVms(noAbort())).vms).toHaveLength(2);

    sim.setPower(a, 'POWERED_OFF');
    sim.removeVm(b);
    const second = await source.listVms(noAbort());
    expect(second.vms.map((v) => [v.externalId, v.power])).toEqual([[a, 'stopped']]);

    await source.listVms(noAbort());
    expect(sim.counters.get('session.create')).toBe(1);
    expect(source.lastPass?.logins).toBe(1);
  });

  test('session expiry in the middle of a pass: one re-login and the listing completes', async () => {
    handle = await startSim();
    const sim = handle.sim;
    sim.seed(200, { clusters: 2, hostsPerCluster: 2 });
    let details = 0;
    // Expire every session once, while the detail fetches are in flight (8 in parallel).
    const requestThatExpires: RequestLike = (dispatcher, options) => {
      if (/\/vcenter\/vm\/vm-\d+$/.test(options.path) && ++details === 50) sim.expireSessions();
      return dispatcher.request(options);
    };
    const { logger } = captureLogger();
    source = createVmwareSource(sourceConfig(handle, { apiFlavor: flavor }), { logger, request: requestThatExpires });
    const { vms, rejected } = await source.listVms(noAbort());
    expect(rejected).toEqual([]);
    expect(vms).toHaveLength(200);
    expect(sim.counters.get('session.create')).toBe(2);
  });

  test('detail is fetched only for new or changed VMs', async () => {
    const { sim, source } = await setup(flavor);
    sim.seed(50, { clusters: 1, hostsPerCluster: 2 });
    await source.listVms(noAbort());
    expect(sim.counters.get('vm.get')).toBe(50);

    sim.counters.reset();
    await source.listVms(noAbort());
    expect(sim.counters.get('vm.get')).toBe(0);
    expect(sim.counters.get('vm.guest.identity')).toBe(0);

    const [first, second] = [...sim.inventory.vms.keys()];
    sim.upsertVm({ id: first!, name: 'renamed' });
    sim.upsertVm({ id: second!, name: sim.inventory.vm(second!).name, cpu: 64 });
    sim.upsertVm({ name: 'brand-new' });
    sim.counters.reset();
    const { vms } = await source.listVms(noAbort());
    expect(sim.counters.get('vm.get')).toBe(3);
    expect(byId(vms).get(second!)?.cpu).toBe(64);
    expect(source.lastPass?.detailsFetched).toBe(3);
  });

  test('a VM without VMware Tools syncs with defaultGuestOs', async () => {
    const { sim, source } = await setup(flavor, { defaultGuestOs: 'Linux' });
    const noTools = sim.upsertVm({ name: 'no-tools', tools: false, guestOs: 'OTHER_LINUX_64' });
    const withTools = sim.upsertVm({ name: 'tools', guestFullName: 'Debian GNU/Linux 12 (64-bit)' });
    const { vms, rejected } = await source.listVms(noAbort());
    expect(rejected).toEqual([]);
    expect(byId(vms).get(noTools)).toMatchObject({ os: 'Linux', power: 'running' });
    expect(byId(vms).get(withTools)?.os).toBe('Debian GNU/Linux 12 (64-bit)');
  });

  test('a failed shard fails the whole listing, naming the shard', async () => {
    handle = await startSim({ listLimit: 40 });
    const sim = handle.sim;
    sim.seed(100, { clusters: 3, hostsPerCluster: 2 });
    const { logger } = captureLogger();
    source = createVmwareSource(sourceConfig(handle, { apiFlavor: flavor, listLimit: 40 }), { logger });
    expect((await source.listVms(noAbort())).vms).toHaveLength(100);

    const cluster = [...sim.inventory.clusters.values()][1]!;
    sim.failShard(cluster.id);
    const error = await source.listVms(noAbort()).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(VsphereError);
    expect((error as VsphereError).reason).toBe('shard');
    expect((error as Error).message).toContain(`cluster "${cluster.name}" (${cluster.id})`);
    expect((error as Error).message).not.toContain('\n');
  });

  test('an account that cannot see the host and cluster tree: a split that covers nothing fails the listing', async () => {
    handle = await startSim({ listLimit: 50 });
    const sim = handle.sim;
    sim.seed(120, { clusters: 2, hostsPerCluster: 2 });
    const { logger } = captureLogger();
    source = createVmwareSource(sourceConfig(handle, { apiFlavor: flavor, listLimit: 50 }), { logger });
    const failure = async (): Promise<unknown> => source!.listVms(noAbort()).then(() => null, (e: unknown) => e);

    // Refused whole, then split into no parts at all: 0 VMs would read as every VM gone.
    sim.setHostTreeHidden(true);
    const refused = await failure();
    expect(refused).toBeInstanceOf(VsphereError);
    expect((refused as VsphereError).reason).toBe('shard');
    expect((refused as Error).message).toMatch(/refused to list it in one call \(50 VMs or more\), but its 0 parts .* hold only 0: the account may not see every cluster and host/);

    // Split straight away because the last pass remembered it too big: the same, after one call.
    sim.setHostTreeHidden(false);
    expect((await source.listVms(noAbort())).vms).toHaveLength(120);
    sim.setHostTreeHidden(true);
    sim.counters.reset();
    expect(((await failure()) as VsphereError).reason).toBe('shard');
    expect(sim.counters.get('vm.list')).toBe(1);
  });

  test('sharding per cluster, host and power state finds every VM exactly once', async () => {
    handle = await startSim({ listLimit: 60 });
    const sim = handle.sim;
    // 400 VMs: one cluster holds 70 % (280, above the limit even per host of 4 → split by power state).
    sim.seed(400, { clusters: 3, hostsPerCluster: 4, standaloneHosts: 2, clusterShare: [0.7, 0.2, 0.1], standaloneShare: 0.05 });
    const { logger } = captureLogger();
    source = createVmwareSource(sourceConfig(handle, { apiFlavor: flavor, listLimit: 60 }), { logger });
    const { vms } = await source.listVms(noAbort());
    const ids = vms.map((v) => v.externalId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids)).toEqual(new Set(sim.inventory.vms.keys()));
    expect(source.lastPass?.splits).toBeGreaterThanOrEqual(3);

    // Shrunk well below the limit: after one pass on the remembered split, one call lists it all.
    for (const id of [...sim.inventory.vms.keys()].slice(20)) sim.removeVm(id);
    expect((await source.listVms(noAbort())).vms).toHaveLength(20);
    sim.counters.reset();
    expect((await source.listVms(noAbort())).vms).toHaveLength(20);
    expect(sim.counters.get('vm.list')).toBe(1);
  });

  test('bad entries are rejected one by one; a known VM that turns bad is not taken for deleted', async () => {
    const { sim, source } = await setup(flavor);
    const good = sim.upsertVm({ name: 'good' });
    const turnsBad = sim.upsertVm({ name: 'turns-bad' });
    await source.listVms(noAbort());

    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['neg-mem', { memory_size_MiB: -5 }, /memory_size_MiB: must be at least 1 MiB/],
      ['huge-mem', { memory_size_MiB: 70 * 1024 * 1024 }, /memory_size_MiB: must be at most 64 TiB/],
      ['many-cpus', { cpu_count: 5000 }, /cpu_count: must be at most 1024/],
      ['ctrl', { name: 'evil\u0007name' }, /name: contains control characters/],
      ['long', { name: 'x'.repeat(300) }, /name: is longer than 255 characters/],
      ['power', { power_state: 'EXPLODED' }, /power_state: must be POWERED_ON/],
    ];
    const bad = cases.map(([name, override]) => sim.upsertVm({ name, listOverride: override }));
    const noId = sim.upsertVm({ name: 'no-id', listOverride: { vm: 42 } });
    sim.upsertVm({ id: turnsBad, name: 'turns-bad', listOverride: { cpu_count: -1 } });
    const negDisk = sim.upsertVm({ name: 'neg-disk', disks: [-1] });

    const { vms, rejected } = await source.listVms(noAbort());
    expect(vms.map((v) => v.externalId).sort()).toEqual([good, turnsBad].sort());
    const problem = (where: string) => rejected.filter((r) => r.where === `vc1: ${where}`).map((r) => r.problem).join(' | ');
    cases.forEach(([, , message], i) => expect(problem(bad[i]!)).toMatch(message));
    expect(problem(turnsBad)).toMatch(/cpu_count: must be at least 1.*kept its last valid values/);
    expect(problem(negDisk)).toMatch(/detail fetch failed.*capacity: must not be negative/);
    expect(rejected.some((r) => r.where.startsWith('vc1: VM list entry #') && /vm: /.test(r.problem))).toBe(true);
    expect(rejected.some((r) => r.where.includes(noId))).toBe(false);
  });

  test('a failed detail keeps the cached one for a known VM and rejects a new VM', async () => {
    const { sim, source } = await setup(flavor);
    const known = sim.upsertVm({ name: 'known', disks: [30 * GIB] });
    await source.listVms(noAbort());

    sim.setPower(known, 'POWERED_OFF');
    const fresh = sim.upsertVm({ name: 'fresh' });
    sim.failDetail(known);
    sim.failDetail(fresh);
    const { vms, rejected } = await source.listVms(noAbort());
    expect(vms.map((v) => [v.externalId, v.power, v.diskGb])).toEqual([[known, 'stopped', 30]]);
    expect(rejected.map((r) => r.where).sort()).toEqual([`vc1: ${fresh}`, `vc1: ${known}`].sort());
    expect(rejected.find((r) => r.where === `vc1: ${fresh}`)?.problem).toMatch(/HTTP 500/);

    sim.clearFaults();
    sim.counters.reset();
    const healed = await source.listVms(noAbort());
    expect(healed.rejected).toEqual([]);
    expect(healed.vms).toHaveLength(2);
    expect(sim.counters.get('vm.get')).toBe(2);
  });

  test('close logs out and nothing in the logs holds the password or the session id', async () => {
    const { sim, source, lines } = await setup(flavor);
    sim.upsertVm({ name: 'a' });
    await source.listVms(noAbort());
    const sessionIds = [...(sim as unknown as { sessions: Set<string> }).sessions];
    expect(sim.sessionCount()).toBe(1);
    await source.close();
    expect(sim.sessionCount()).toBe(0);
    expect(sim.counters.get('session.delete')).toBe(1);
    const log = lines.join('\n');
    expect(log).not.toContain(PASSWORD);
    for (const id of sessionIds) expect(log).not.toContain(id);
    expect(log).toContain('listed vCenter VMs');
  });
});
