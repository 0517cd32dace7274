// The simulator's wire shapes and faults, checked with plain HTTPS requests (undici fetch + its CA).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Agent, fetch } from 'undici';
import { VsphereSimulator } from '../../../src/simulators/vsphere/server.js';
import { SimInventory } from '../../../src/simulators/vsphere/inventory.js';
import { seedInventory } from '../../../src/simulators/vsphere/seed.js';

const auth = `Basic ${Buffer.from('admin@vsphere.local:pw').toString('base64')}`;
let sim: VsphereSimulator;
let base: string;
let agent: Agent;

beforeAll(async () => {
  sim = new VsphereSimulator({ username: 'admin@vsphere.local', password: 'pw', listLimit: 50 });
  const started = await sim.start();
  base = started.url;
  agent = new Agent({ connect: { ca: started.caPem } });
});

afterAll(async () => {
  await agent.close();
  await sim.stop();
});

async function call(method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
  const res = await fetch(base + path, { method, headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined, dispatcher: agent });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as any) : undefined };
}

async function login(flavor: 'api' | 'rest'): Promise<Record<string, string>> {
  const res = await call('POST', flavor === 'api' ? '/api/session' : '/rest/com/vmware/cis/session', { authorization: auth });
  expect(res.status).toBeLessThan(300);
  const id = flavor === 'api' ? res.json : res.json.value;
  expect(typeof id).toBe('string');
  return { 'vmware-api-session-id': id };
}

describe('sessions and errors', () => {
  test('/api login answers a bare JSON string; bad credentials answer 401 in /api shape', async () => {
    await login('api');
    const bad = await call('POST', '/api/session', { authorization: `Basic ${Buffer.from('admin@vsphere.local:nope').toString('base64')}` });
    expect(bad.status).toBe(401);
    expect(bad.json).toMatchObject({ error_type: 'UNAUTHENTICATED', messages: [{ id: expect.any(String), default_message: expect.any(String), args: [] }] });
  });

  test('/rest errors use the vapi std error type', async () => {
    const res = await call('GET', '/rest/vcenter/vm');
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ type: 'com.vmware.vapi.std.errors.unauthenticated', value: { messages: [expect.objectContaining({ id: expect.any(String) })] } });
  });

  test('expired sessions answer 401; logout ends a session', async () => {
    const headers = await login('api');
    expect((await call('GET', '/api/vcenter/vm', headers)).status).toBe(200);
    sim.expireSessions();
    expect((await call('GET', '/api/vcenter/vm', headers)).status).toBe(401);
    const fresh = await login('rest');
    expect((await call('DELETE', '/rest/com/vmware/cis/session', fresh)).status).toBe(200);
    expect((await call('GET', '/rest/vcenter/vm', fresh)).status).toBe(401);
  });
});

describe('inventory endpoints', () => {
  test('VM list, filters (repeatable) and the list limit, in both spellings', async () => {
    sim.seed(120, { clusters: 3, hostsPerCluster: 2, seed: 7 });
    const api = await login('api');
    const rest = await login('rest');
    const tooMany = await call('GET', '/api/vcenter/vm', api);
    expect(tooMany).toEqual({
      status: 500,
      json: {
        error_type: 'UNABLE_TO_ALLOCATE_RESOURCE',
        messages: [{ id: 'com.vmware.api.vcenter.vm.unable_to_allocate_resource', default_message: 'Too many virtual machines. Add more filter criteria to reduce the number.', args: [] }],
      },
    });
    expect((await call('GET', '/rest/vcenter/vm', rest)).json.type).toBe('com.vmware.vapi.std.errors.unable_to_allocate_resource');

    const [c1, c2] = [...sim.inventory.clusters.keys()];
    const one = await call('GET', `/api/vcenter/vm?clusters=${c1}`, api);
    const two = await call('GET', `/api/vcenter/vm?clusters=${c1}&clusters=${c2}&power_states=POWERED_OFF`, api);
    const restOne = await call('GET', `/rest/vcenter/vm?filter.clusters=${c1}`, rest);
    expect(one.json).toHaveLength(40);
    expect(restOne.json.value).toEqual(one.json);
    const offInTwo = [...sim.inventory.vms.values()].filter((v) => v.power === 'POWERED_OFF' && v.id !== undefined && [c1, c2].includes(sim.inventory.clusterOf(v)!));
    expect(two.json.map((v: { vm: string }) => v.vm).sort()).toEqual(offInTwo.map((v) => v.id).sort());
    const entry = one.json.find((v: Record<string, unknown>) => 'cpu_count' in v);
    expect(Object.keys(entry).sort()).toEqual(['cpu_count', 'memory_size_MiB', 'name', 'power_state', 'vm']);
    // /rest spells filters with the prefix: the bare name is ignored there.
    expect((await call('GET', `/rest/vcenter/vm?clusters=${c1}`, rest)).status).toBe(500);
  });

  test('clusters, hosts (standalone filter), folders and resource pools', async () => {
    sim.seed(10, { clusters: 2, hostsPerCluster: 2, standaloneHosts: 1 });
    const api = await login('api');
    const clusters = (await call('GET', '/api/vcenter/cluster', api)).json;
    expect(clusters).toEqual([...sim.inventory.clusters.values()].map((c) => ({ cluster: c.id, name: c.name, ha_enabled: true, drs_enabled: true })));
    expect((await call('GET', '/api/vcenter/host', api)).json).toHaveLength(5);
    expect((await call('GET', `/api/vcenter/host?clusters=${clusters[0].cluster}`, api)).json).toHaveLength(2);
    const standalone = (await call('GET', '/api/vcenter/host?standalone=true', api)).json;
    expect(standalone).toEqual([expect.objectContaining({ name: 'esx-standalone-1.sim.local', connection_state: 'CONNECTED' })]);
    expect((await call('GET', '/api/vcenter/folder?type=VIRTUAL_MACHINE', api)).json.map((f: { name: string }) => f.name)).toEqual(['vm', 'Customers', 'Internal']);
    expect((await call('GET', '/rest/vcenter/resource-pool', await login('rest'))).json.value.length).toBe(sim.inventory.pools.size);
  });

  test('VM detail: disks keyed by id on /api, {key, value} lists without identity on /rest', async () => {
    const vm = sim.upsertVm({ name: 'detail', disks: [1024, 2048], cpu: 3, memoryMiB: 3072, guestOs: 'DEBIAN11_64' });
    const api = (await call('GET', `/api/vcenter/vm/${vm}`, await login('api'))).json;
    expect(api).toMatchObject({ name: 'detail', guest_OS: 'DEBIAN11_64', power_state: 'POWERED_ON', cpu: { count: 3, cores_per_socket: 1 }, memory: { size_MiB: 3072 } });
    expect(api.disks).toEqual({ '2000': expect.objectContaining({ capacity: 1024, label: 'Hard disk 1' }), '2001': expect.objectContaining({ capacity: 2048 }) });
    expect(api.identity.instance_uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-/);
    expect(Object.keys(api.nics)).toEqual(['4000']);

    const rest = (await call('GET', `/rest/vcenter/vm/${vm}`, await login('rest'))).json.value;
    expect(rest.disks).toEqual([{ key: '2000', value: expect.objectContaining({ capacity: 1024 }) }, { key: '2001', value: expect.objectContaining({ capacity: 2048 }) }]);
    expect(rest.identity).toBeUndefined();

    const missing = await call('GET', '/api/vcenter/vm/vm-999999', await login('api'));
    expect(missing).toMatchObject({ status: 404, json: { error_type: 'NOT_FOUND' } });
  });

  test('guest identity: full name with Tools, 503 without, or when switched off globally', async () => {
    const vm = sim.upsertVm({ name: 'guest', guestFullName: 'Ubuntu Linux (64-bit)', ipAddress: '10.0.0.7' });
    const api = await login('api');
    expect((await call('GET', `/api/vcenter/vm/${vm}/guest/identity`, api)).json).toMatchObject({ full_name: { default_message: 'Ubuntu Linux (64-bit)' }, ip_address: '10.0.0.7' });
    sim.setTools(vm, false);
    expect(await call('GET', `/api/vcenter/vm/${vm}/guest/identity`, api)).toMatchObject({ status: 503, json: { error_type: 'SERVICE_UNAVAILABLE' } });
    sim.setTools(vm, true);
    sim.setGuestUnavailable(true);
    const rest = await call('GET', `/rest/vcenter/vm/${vm}/guest/identity`, await login('rest'));
    expect(rest).toMatchObject({ status: 503, json: { type: 'com.vmware.vapi.std.errors.service_unavailable' } });
    sim.clearFaults();
  });

  test('a host vCenter cannot reach: connection_states filter, its VMs listed as last seen, Tools silent', async () => {
    sim.seed(6, { clusters: 1, hostsPerCluster: 2, seed: 3 });
    const [h1, h2] = [...sim.inventory.hosts.keys()];
    const onH1 = [...sim.inventory.vms.values()].find((v) => v.host === h1)!;
    sim.setPower(onH1.id, 'POWERED_ON');
    sim.setTools(onH1.id, true);
    const api = await login('api');
    const unreachable = '/api/vcenter/host?connection_states=DISCONNECTED&connection_states=NOT_RESPONDING';
    expect((await call('GET', unreachable, api)).json).toEqual([]);

    // Over the control API, as a benchmark or test in another process would.
    expect((await call('POST', `/_sim/hosts/${h1}`, {}, { connection: 'NOT_RESPONDING' })).status).toBe(200);
    expect((await call('GET', '/_sim/hosts')).json).toContainEqual(expect.objectContaining({ id: h1, connection: 'NOT_RESPONDING' }));
    expect((await call('GET', unreachable, api)).json).toEqual([{ host: h1, name: sim.inventory.hosts.get(h1!)!.name, connection_state: 'NOT_RESPONDING' }]);
    expect((await call('GET', `/rest/vcenter/host?filter.connection_states=CONNECTED`, await login('rest'))).json.value.map((h: { host: string }) => h.host)).toEqual([h2]);

    // The VM stops on the host; vCenter does not see it.
    sim.setPower(onH1.id, 'POWERED_OFF');
    const listed = (await call('GET', `/api/vcenter/vm?hosts=${h1}`, api)).json;
    expect(listed.find((v: { vm: string }) => v.vm === onH1.id).power_state).toBe('POWERED_ON');
    expect((await call('GET', `/api/vcenter/vm/${onH1.id}`, api)).json.power_state).toBe('POWERED_ON');
    expect((await call('GET', `/api/vcenter/vm?hosts=${h1}&power_states=POWERED_OFF`, api)).json.map((v: { vm: string }) => v.vm)).not.toContain(onH1.id);
    sim.setPower(onH1.id, 'POWERED_ON');
    expect((await call('GET', `/api/vcenter/vm/${onH1.id}/guest/identity`, api)).status).toBe(503);

    sim.setPower(onH1.id, 'SUSPENDED');
    sim.setHostConnection(h1!, 'CONNECTED');
    expect((await call('GET', `/api/vcenter/vm/${onH1.id}`, api)).json.power_state).toBe('SUSPENDED');
    expect((await call('GET', unreachable, api)).json).toEqual([]);
    const bad = await call('POST', `/_sim/hosts/${h1}`, {}, { connection: 'GONE' });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/connection/);
    expect((await call('POST', '/_sim/hosts/host-0', {}, { connection: 'DISCONNECTED' })).json.error).toMatch(/no host host-0/);
  });

  test('a host in standby (DPM): still CONNECTED, power_state STANDBY; only with its VMs off', async () => {
    sim.seed(4, { clusters: 1, hostsPerCluster: 2, seed: 3 });
    const [h1] = [...sim.inventory.hosts.keys()];
    const onH1 = [...sim.inventory.vms.values()].filter((v) => v.host === h1);
    onH1.forEach((vm) => sim.setPower(vm.id, 'POWERED_ON'));
    const api = await login('api');
    const refused = await call('POST', `/_sim/hosts/${h1}`, {}, { standby: true });
    expect(refused.status).toBe(400);
    expect(refused.json.error).toMatch(/still runs .*migrate or power them off first/);
    onH1.forEach((vm) => sim.setPower(vm.id, 'POWERED_OFF'));
    expect((await call('POST', `/_sim/hosts/${h1}`, {}, { standby: true })).status).toBe(200);
    const hosts = (await call('GET', '/api/vcenter/host', api)).json as Array<{ host: string; connection_state: string; power_state?: string }>;
    expect(hosts.find((h) => h.host === h1)).toMatchObject({ connection_state: 'CONNECTED', power_state: 'STANDBY' });
    expect((await call('GET', '/api/vcenter/host?connection_states=DISCONNECTED&connection_states=NOT_RESPONDING', api)).json).toEqual([]);
    expect((await call('POST', `/_sim/hosts/${h1}`, {}, {})).json.error).toMatch(/give connection, standby or both/);
    sim.setHostStandby(h1!, false);
    expect((await call('GET', '/api/vcenter/host', api)).json.find((h: { host: string }) => h.host === h1).power_state).toBe('POWERED_ON');
  });

  test('powering on a VM of a host in standby wakes the host, as DPM does; powering one off does not', async () => {
    sim.seed(4, { clusters: 1, hostsPerCluster: 2, seed: 3 });
    const [h1] = [...sim.inventory.hosts.keys()];
    const onH1 = [...sim.inventory.vms.values()].filter((v) => v.host === h1);
    expect(onH1.length).toBeGreaterThan(0);
    onH1.forEach((vm) => sim.setPower(vm.id, 'POWERED_OFF'));
    const api = await login('api');
    const powerOf = async (): Promise<string> => (await call('GET', '/api/vcenter/host', api)).json.find((h: { host: string }) => h.host === h1).power_state;

    sim.setHostStandby(h1!, true);
    expect((await call('POST', `/_sim/vms/${onH1[0]!.id}/power`, {}, { state: 'POWERED_OFF' })).status).toBe(200);
    expect(await powerOf()).toBe('STANDBY');
    expect((await call('POST', `/_sim/vms/${onH1[0]!.id}/power`, {}, { state: 'POWERED_ON' })).status).toBe(200);
    expect(await powerOf()).toBe('POWERED_ON');

    onH1.forEach((vm) => sim.setPower(vm.id, 'POWERED_OFF'));
    sim.setHostStandby(h1!, true);
    sim.inventory.upsertVm({ name: 'new-on-standby', host: h1!, power: 'SUSPENDED' });
    expect(await powerOf()).toBe('POWERED_ON');
  });

  test('a VM moved off a lost host (an HA restart) is listed as it is; one moved onto a lost host as it was', async () => {
    sim.seed(6, { clusters: 1, hostsPerCluster: 2, seed: 3 });
    const [h1, h2] = [...sim.inventory.hosts.keys()];
    const vm = [...sim.inventory.vms.values()].find((v) => v.host === h1)!;
    sim.setPower(vm.id, 'POWERED_ON');
    sim.setHostConnection(h1!, 'NOT_RESPONDING');
    sim.setPower(vm.id, 'POWERED_OFF');
    const api = await login('api');
    const powerOf = async (id: string) => ((await call('GET', '/api/vcenter/vm', api)).json as Array<{ vm: string; power_state: string }>).find((v) => v.vm === id)?.power_state;
    expect(await powerOf(vm.id)).toBe('POWERED_ON');

    // HA registers it on the host that is fine, over the control API as a test in another process would.
    expect((await call('POST', '/_sim/vms', {}, { id: vm.id, name: vm.name, host: h2, power: 'POWERED_ON' })).status).toBe(200);
    sim.setPower(vm.id, 'SUSPENDED');
    expect(await powerOf(vm.id)).toBe('SUSPENDED');

    // Back onto the lost host: vCenter sees it as it was when it got there, and no more.
    sim.upsertVm({ id: vm.id, name: vm.name, host: h1 });
    sim.setPower(vm.id, 'POWERED_ON');
    expect(await powerOf(vm.id)).toBe('SUSPENDED');
    sim.setHostConnection(h1!, 'CONNECTED');
    expect(await powerOf(vm.id)).toBe('POWERED_ON');
  });

  test('a 6.7-style simulator answers 404 on /api', async () => {
    const old = new VsphereSimulator({ username: 'u', password: 'p', flavors: ['rest'] });
    const { url, caPem } = await old.start();
    const a = new Agent({ connect: { ca: caPem } });
    try {
      const res = await fetch(`${url}/api/session`, { method: 'POST', dispatcher: a });
      expect(res.status).toBe(404);
      await res.text();
    } finally {
      await a.close();
      await old.stop();
    }
  });
});

describe('control API and counters', () => {
  test('faults and inventory changes over /_sim', async () => {
    sim.seed(20, { clusters: 2, hostsPerCluster: 1 });
    sim.counters.reset();
    const [c1] = [...sim.inventory.clusters.keys()];
    expect((await call('POST', '/_sim/faults', {}, { failShards: [c1], slowMs: 0 })).status).toBe(200);
    const api = await login('api');
    expect((await call('GET', `/api/vcenter/vm?clusters=${c1}`, api)).status).toBe(500);
    expect((await call('POST', '/_sim/faults', {}, { failShards: [] })).status).toBe(200);
    expect((await call('GET', `/api/vcenter/vm?clusters=${c1}`, api)).status).toBe(200);
    // An account without rights on the host and cluster tree sees neither, but still the VMs.
    expect((await call('POST', '/_sim/faults', {}, { hostTreeHidden: true })).status).toBe(200);
    expect((await call('GET', '/api/vcenter/cluster', api)).json).toEqual([]);
    expect((await call('GET', '/api/vcenter/host', api)).json).toEqual([]);
    expect((await call('GET', '/api/vcenter/vm', api)).json).toHaveLength(20);
    expect((await call('POST', '/_sim/faults', {}, { hostTreeHidden: false })).status).toBe(200);
    expect((await call('GET', '/api/vcenter/host', api)).json).toHaveLength(2);

    const created = await call('POST', '/_sim/vms', {}, { name: 'via-control', power: 'POWERED_OFF' });
    const id = created.json.vm as string;
    expect(sim.inventory.vm(id).power).toBe('POWERED_OFF');
    await call('POST', `/_sim/vms/${id}/power`, {}, { state: 'SUSPENDED' });
    await call('POST', `/_sim/vms/${id}/disks`, {}, { capacities: [5] });
    expect(sim.inventory.vm(id)).toMatchObject({ power: 'SUSPENDED', disks: [5] });
    expect((await call('DELETE', `/_sim/vms/${id}`)).status).toBe(200);
    expect((await call('POST', `/_sim/vms/${id}/power`, {}, { state: 'SUSPENDED' })).status).toBe(400);
    const bad = await call('POST', '/_sim/faults', {}, { slowMs: -1 });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/slowMs/);

    await call('POST', '/_sim/expire-sessions');
    expect((await call('GET', '/api/vcenter/vm?names=x', api)).status).toBe(401);
    expect((await call('GET', '/_sim/counters')).json).toMatchObject({ 'session.create': 1, 'vm.list': 4 });
    expect((await call('POST', '/_sim/seed', {}, { n: 7, clusters: 1 })).json).toMatchObject({ vms: 7, clusters: 1 });
  });

  test('down drops connections until switched back', async () => {
    sim.setDown(true);
    await expect(call('POST', '/api/session', { authorization: auth })).rejects.toThrow();
    sim.setDown(false);
    expect((await call('POST', '/api/session', { authorization: auth })).status).toBe(201);
  });
});

describe('seeding', () => {
  test('is deterministic and honours cluster shares', () => {
    const a = new SimInventory();
    const b = new SimInventory();
    seedInventory(a, 1_000, { clusters: 3, hostsPerCluster: 2, clusterShare: [0.6, 0.3, 0.1], seed: 42 });
    seedInventory(b, 1_000, { clusters: 3, hostsPerCluster: 2, clusterShare: [0.6, 0.3, 0.1], seed: 42 });
    expect([...a.vms.values()]).toEqual([...b.vms.values()]);
    const perCluster = [...a.clusters.keys()].map((c) => [...a.matchingVms({ clusters: new Set([c]) })].length);
    expect(perCluster).toEqual([600, 300, 100]);
    expect(() => seedInventory(a, 10, { clusters: 2, clusterShare: [1] })).toThrow(/clusterShare/);
  });

  test('100,000 VMs seed and list quickly enough for the benchmark', () => {
    const inv = new SimInventory();
    seedInventory(inv, 100_000, { clusters: 10, hostsPerCluster: 8 });
    expect(inv.vms.size).toBe(100_000);
    const host = [...inv.hosts.keys()][0]!;
    expect([...inv.matchingVms({ hosts: new Set([host]) })]).toHaveLength(1_250);
  });
});
