// VMs on hosts vCenter has lost (DISCONNECTED, NOT_RESPONDING) are reported as unreported: vCenter
// still lists them, with the power state it saw before, which says nothing about the VM now.
import { afterEach, describe, expect, test } from 'vitest';
import { createVmwareSource, VsphereError, type RequestLike, type VmwareSource } from '../../../src/sources/vmware/index.js';
import { captureLogger, noAbort, sourceConfig, startSim, type SimHandle } from './helpers.js';

let handle: SimHandle | null = null;
let source: VmwareSource | null = null;

afterEach(async () => {
  await source?.close();
  await handle?.stop();
  source = null;
  handle = null;
});

/** Two clusters of two hosts; returns the simulator, the source and one host with its VMs. */
async function setup(flavor: 'api' | 'rest', options: { listLimit?: number; vms?: number; overrides?: Record<string, unknown>; request?: RequestLike } = {}) {
  handle = await startSim(options.listLimit ? { listLimit: options.listLimit } : {});
  const sim = handle.sim;
  sim.seed(options.vms ?? 40, { clusters: 2, hostsPerCluster: 2, seed: 11 });
  const { logger } = captureLogger();
  source = createVmwareSource(sourceConfig(handle, { apiFlavor: flavor, ...(options.listLimit ? { listLimit: options.listLimit } : {}), ...options.overrides }), {
    logger,
    ...(options.request ? { request: options.request } : {}),
  });
  const host = [...sim.inventory.hosts.values()][1]!;
  const onHost = [...sim.inventory.vms.values()].filter((v) => v.host === host.id).map((v) => v.id);
  expect(onHost.length).toBeGreaterThan(0);
  return { sim, source, host, onHost };
}

describe.each(['api', 'rest'] as const)('lost hosts over /%s', (flavor) => {
  test.each(['DISCONNECTED', 'NOT_RESPONDING'] as const)('a %s host: its VMs are unreported, the rest listed; back, they are listed as they are now', async (state) => {
    const { sim, source, host, onHost } = await setup(flavor);
    const first = await source.listVms(noAbort());
    expect(first.unreported).toEqual([]);
    expect(first.vms).toHaveLength(40);

    sim.setHostConnection(host.id, state);
    // What the VM does meanwhile is not seen by vCenter, and must not reach the panel either way.
    sim.setPower(onHost[0]!, 'POWERED_OFF');
    sim.counters.reset();
    const lost = await source.listVms(noAbort());
    expect(lost.rejected).toEqual([]);
    expect(lost.unreported.map((u) => u.vmId).sort()).toEqual([...onHost].sort());
    expect(new Set(lost.unreported.map((u) => u.node))).toEqual(new Set([host.name]));
    expect(lost.vms.map((v) => v.externalId).sort()).toEqual([...sim.inventory.vms.keys()].filter((id) => !onHost.includes(id)).sort());
    // No detail asked for them (vCenter could only answer with what it saw before).
    expect(sim.counters.get('vm.get')).toBe(0);
    expect(source.lastPass).toMatchObject({ unreported: onHost.length, hostCheckCalls: 2 });

    sim.setHostConnection(host.id, 'CONNECTED');
    const back = await source.listVms(noAbort());
    expect(back.unreported).toEqual([]);
    expect(back.vms).toHaveLength(40);
    expect(back.vms.find((v) => v.externalId === onHost[0])?.power).toBe('stopped');
    expect(source.lastPass).toMatchObject({ unreported: 0, hostCheckCalls: 1 });
  });

  test('name patterns still apply: a lost VM out of scope is neither listed nor unreported', async () => {
    const { sim, source, host, onHost } = await setup(flavor, { overrides: { filters: { namePatterns: ['^keep-'] } } });
    sim.upsertVm({ id: onHost[0]!, name: 'keep-me' });
    sim.upsertVm({ id: onHost[1]!, name: 'keep-too' });
    sim.setHostConnection(host.id, 'DISCONNECTED');
    const lost = await source.listVms(noAbort());
    expect(lost.unreported.map((u) => u.vmId).sort()).toEqual([onHost[0], onHost[1]].sort());
    expect(lost.vms).toEqual([]);
  });

  test('a lost host with more VMs than one call may list is listed per power state', async () => {
    const { sim, source, host, onHost } = await setup(flavor, { listLimit: 10, vms: 60 });
    expect(onHost.length).toBeGreaterThanOrEqual(10);
    expect(onHost.length).toBeLessThan(30);
    const states = ['POWERED_ON', 'POWERED_OFF', 'SUSPENDED'] as const;
    // Spread so that every host's power-state slice fits in one call (the main listing's too).
    [...sim.inventory.vms.keys()].forEach((id, i) => sim.setPower(id, states[i % 3]!));
    sim.setHostConnection(host.id, 'NOT_RESPONDING');
    const lost = await source.listVms(noAbort());
    expect(lost.unreported.map((u) => u.vmId).sort()).toEqual([...onHost].sort());
    expect(lost.vms).toHaveLength(60 - onHost.length);
    // The host check, the refused host listing and one per power state.
    expect(source.lastPass?.hostCheckCalls).toBe(5);
  });

  test('a lost host outside filters.clusters is not asked about: it neither costs calls nor fails the listing', async () => {
    const { sim, source, host } = await setup(flavor, { overrides: { filters: { clusters: ['Cluster-2'] } } });
    const other = [...sim.inventory.clusters.values()].find((c) => c.name === 'Cluster-2')!;
    // The lost host sits in the cluster the source does not cover.
    expect(host.cluster).not.toBe(other.id);
    const inScope = [...sim.inventory.vms.values()].filter((v) => sim.inventory.clusterOf(v) === other.id).map((v) => v.id);
    sim.setHostConnection(host.id, 'NOT_RESPONDING');
    sim.failShard(host.id);
    const listed = await source.listVms(noAbort());
    expect(listed.unreported).toEqual([]);
    expect(listed.vms.map((v) => v.externalId).sort()).toEqual([...inScope].sort());
    expect(source.lastPass?.hostCheckCalls).toBe(1);

    // A lost host inside the configured cluster is still found.
    const inside = [...sim.inventory.hosts.values()].find((h) => h.cluster === other.id)!;
    sim.clearFaults();
    sim.setHostConnection(inside.id, 'DISCONNECTED');
    const onInside = [...sim.inventory.vms.values()].filter((v) => v.host === inside.id).map((v) => v.id);
    expect((await source.listVms(noAbort())).unreported.map((u) => u.vmId).sort()).toEqual([...onInside].sort());
  });

  test('when the lost host\'s VMs cannot be listed, the whole listing fails (never a guess)', async () => {
    const { sim, source, host } = await setup(flavor);
    await source.listVms(noAbort());
    sim.setHostConnection(host.id, 'NOT_RESPONDING');
    sim.failShard(host.id);
    const error = await source.listVms(noAbort()).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(VsphereError);
    expect((error as VsphereError).reason).toBe('shard');
    expect((error as Error).message).toContain(`vmware vc1 [shard]: listing VMs of unreachable host "${host.name}" (${host.id}): failed, so the listing is incomplete`);
    sim.clearFaults();
    expect((await source.listVms(noAbort())).unreported.length).toBeGreaterThan(0);
  });
});

test('a vCenter that ignores the connection_states filter cannot make every host look lost', async () => {
  // Drops the filter from the host query, so vCenter answers with every host (all CONNECTED).
  const ignoreFilter: RequestLike = (dispatcher, options) =>
    dispatcher.request({ ...options, path: options.path.replace(/([?&])connection_states=[A-Z_]+/g, '$1x=y') });
  const { sim, source, host } = await setup('api', { request: ignoreFilter });
  const listed = await source.listVms(noAbort());
  expect(listed.unreported).toEqual([]);
  expect(listed.vms).toHaveLength(40);
  sim.setHostConnection(host.id, 'DISCONNECTED');
  // The lost host is in that answer too, with its state: it is still found.
  expect((await source.listVms(noAbort())).unreported.length).toBeGreaterThan(0);
});
