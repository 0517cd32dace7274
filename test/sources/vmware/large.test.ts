// 10,000 VMs over several clusters, one of them above vCenter's 4000-VM listing limit.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createVmwareSource, type VmwareSource } from '../../../src/sources/vmware/index.js';
import { captureLogger, noAbort, sourceConfig, startSim, type SimHandle } from './helpers.js';

let handle: SimHandle;
let source: VmwareSource;

beforeAll(async () => {
  handle = await startSim();
  // 5000 / 3000 / 1800 VMs in three clusters of 4 hosts, 200 on two standalone hosts.
  handle.sim.seed(10_000, { clusters: 3, hostsPerCluster: 4, standaloneHosts: 2, clusterShare: [0.5, 0.3, 0.18], standaloneShare: 0.02 });
  source = createVmwareSource(sourceConfig(handle, { apiFlavor: 'api', detailConcurrency: 16 }), { logger: captureLogger().logger });
});

afterAll(async () => {
  await source.close();
  await handle.stop();
});

test('10,000 VMs are listed completely and each exactly once; the big cluster is split per host', { timeout: 120_000 }, async () => {
  const sim = handle.sim;
  const { vms, rejected } = await source.listVms(noAbort());
  expect(rejected).toEqual([]);
  const ids = vms.map((v) => v.externalId);
  expect(ids).toHaveLength(10_000);
  expect(new Set(ids)).toEqual(new Set(sim.inventory.vms.keys()));
  // Whole listing refused, 3 clusters + 2 standalone hosts, the 5000-VM cluster again per host (4).
  expect(sim.counters.get('vm.list')).toBe(1 + 3 + 2 + 4);
  expect(source.lastPass).toMatchObject({ listCalls: 10, splits: 2, vms: 10_000, unreported: 0, hostCheckCalls: 1, detailsFetched: 10_000, logins: 1 });

  // Steady state: no details, and the slices found too big are split without asking again.
  sim.counters.reset();
  const again = await source.listVms(noAbort());
  expect(again.vms).toHaveLength(10_000);
  // host.list: the standalone hosts, the big cluster's hosts, and the check for hosts vCenter lost.
  expect(sim.counters.snapshot()).toEqual({ 'vm.list': 8, 'cluster.list': 1, 'host.list': 3 });
});
