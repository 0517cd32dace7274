// The simulator answers like pve-api-daemon: auth, content type, endpoint shapes, errors,
// counters, deterministic seeding, and faults that fire once or until cleared.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Agent, fetch } from 'undici';
import { ProxmoxSimulator } from '../../../src/simulators/proxmox/index.js';
import { generateGuests } from '../../../src/simulators/proxmox/seed.js';

const TOKEN_ID = 'root@pam!sim';
const SECRET = '11111111-2222-4333-8444-555555555555';
const AUTH = { authorization: `PVEAPIToken=${TOKEN_ID}=${SECRET}` };

let sim: ProxmoxSimulator;
let base: string;
let agent: Agent;

beforeAll(async () => {
  sim = new ProxmoxSimulator({ tokens: [{ tokenId: TOKEN_ID, secret: SECRET }] });
  const { url, caPem } = await sim.start();
  base = url;
  agent = new Agent({ connect: { ca: caPem } });
});
afterAll(async () => {
  await agent.close();
  await sim.stop();
});
beforeEach(() => {
  sim.faults.clear();
  sim.inventory.clear();
  sim.counters.reset();
});

async function get(path: string, headers: Record<string, string> = AUTH) {
  const res = await fetch(`${base}${path}`, { headers, dispatcher: agent });
  const text = await res.text();
  return { status: res.status, statusText: res.statusText, type: res.headers.get('content-type'), text, json: () => JSON.parse(text) as { data: any } };
}

async function control(method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    dispatcher: agent,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('proxmox simulator API', () => {
  it.each([
    ['missing header', {}],
    ['wrong secret', { authorization: `PVEAPIToken=${TOKEN_ID}=99999999-2222-4333-8444-555555555555` }],
    ['wrong token id', { authorization: `PVEAPIToken=root@pam!other=${SECRET}` }],
    ['ticket-style header', { authorization: 'Bearer abc' }],
  ])('401 with the reason in the status line: %s', async (_name, headers) => {
    const r = await get('/api2/json/version', headers as Record<string, string>);
    expect(r).toMatchObject({ status: 401, statusText: 'permission denied - invalid PVE ticket', type: 'application/json;charset=UTF-8', text: '{"data":null}' });
  });

  it('serves the version', async () => {
    const r = await get('/api2/json/version');
    expect(r.status).toBe(200);
    expect(r.type).toBe('application/json;charset=UTF-8');
    expect(r.json().data).toMatchObject({ release: '8.2', version: expect.any(String) });
  });

  it('lists guests with the documented shape; type=vm lists only guests, no type adds nodes and storage', async () => {
    sim.inventory.upsert({ vmid: 100, type: 'qemu', node: 'pve', name: 'pxe.home.arpa', maxcpu: 1, maxmem: 4294967296, maxdisk: 34359738368, uptime: 669 });
    sim.inventory.upsert({ vmid: 103, type: 'lxc', node: 'pve2', pool: 'pool1', name: 'test1-lxc', status: 'stopped', maxcpu: 2, maxmem: 536870912, maxdisk: 10737418240, lock: 'backup', tags: 'a;b', hastate: 'started' });
    const vms = (await get('/api2/json/cluster/resources?type=vm')).json().data;
    expect(vms).toHaveLength(2);
    expect(vms[0]).toMatchObject({ id: 'qemu/100', vmid: 100, type: 'qemu', node: 'pve', name: 'pxe.home.arpa', status: 'running', template: 0, maxcpu: 1, maxmem: 4294967296, maxdisk: 34359738368, uptime: 669 });
    expect(vms[1]).toMatchObject({ id: 'lxc/103', vmid: 103, type: 'lxc', pool: 'pool1', status: 'stopped', uptime: 0, lock: 'backup', tags: 'a;b', hastate: 'started' });
    expect(vms[0]).not.toHaveProperty('ostype');

    const all = (await get('/api2/json/cluster/resources')).json().data as { type: string }[];
    expect(new Set(all.map((e) => e.type))).toEqual(new Set(['node', 'storage', 'qemu', 'lxc']));
    const nodes = (await get('/api2/json/cluster/resources?type=node')).json().data as { id: string }[];
    expect(nodes.map((n) => n.id)).toEqual(['node/pve', 'node/pve1', 'node/pve2']);
  });

  it('rejects an unknown resource type like Proxmox (400 with errors)', async () => {
    const r = await get('/api2/json/cluster/resources?type=qemu');
    expect(r.status).toBe(400);
    expect(r.statusText).toBe('Parameter verification failed.');
    expect(r.json()).toEqual({ data: null, errors: { type: "value 'qemu' does not have a value in the enumeration 'vm, storage, node, sdn'" } });
  });

  it('serves qemu and lxc configs in their PVE 8 shapes', async () => {
    sim.inventory.upsert({ vmid: 100, type: 'qemu', node: 'pve', name: 'vm', maxcpu: 2, maxmem: 4 * 1024 ** 3, maxdisk: 32 * 1024 ** 3, ostype: 'win11' });
    sim.inventory.upsert({ vmid: 103, type: 'lxc', node: 'pve', name: 'ct', maxmem: 512 * 1024 ** 2, maxdisk: 8 * 1024 ** 3 });
    const q = (await get('/api2/json/nodes/pve/qemu/100/config')).json().data;
    expect(q).toMatchObject({ name: 'vm', cores: 2, sockets: 1, memory: '4096', ostype: 'win11', scsi0: expect.stringContaining('size=32G') });
    expect(q.net0).toMatch(/^virtio=BC:24:11:[0-9A-F:]{8},bridge=vmbr0/);
    expect(q.smbios1).toMatch(/^uuid=[0-9a-f-]{36}$/);
    expect(q.meta).toMatch(/ctime=\d+/);
    const c = (await get('/api2/json/nodes/pve/lxc/103/config')).json().data;
    expect(c).toMatchObject({ hostname: 'ct', memory: 512, ostype: 'debian', rootfs: expect.stringContaining('size=8G') });
    const missing = await get('/api2/json/nodes/pve/qemu/103/config');
    expect(missing).toMatchObject({ status: 500, statusText: "Configuration file 'nodes/pve/qemu-server/103.conf' does not exist", text: '{"data":null}' });
  });

  it('answers unknown paths with 501 (API) and 404 (elsewhere)', async () => {
    const r = await get('/api2/json/nodes/pve/storage');
    expect(r).toMatchObject({ status: 501, statusText: "Method 'GET /nodes/pve/storage' not implemented", text: '{"data":null}' });
    expect((await get('/index.html')).status).toBe(404);
  });

  it('counts requests per path', async () => {
    await get('/api2/json/cluster/resources?type=vm');
    await get('/api2/json/cluster/resources');
    await get('/api2/json/version', {});
    expect(sim.counters.snapshot()).toEqual({ '/api2/json/cluster/resources': 2, '/api2/json/version': 1 });
    expect((await control('GET', '/_sim/counters')).body.total).toBe(3);
    await control('DELETE', '/_sim/counters');
    expect(sim.counters.total()).toBe(0);
  });
});

describe('seeding', () => {
  it('is deterministic and realistic', () => {
    const a = generateGuests(2000, { nodes: 3, seed: 42 });
    expect(generateGuests(2000, { nodes: 3, seed: 42 })).toEqual(a);
    expect(generateGuests(2000, { nodes: 3, seed: 43 })).not.toEqual(a);
    expect(new Set(a.map((g) => g.vmid)).size).toBe(2000);
    const share = (p: (g: (typeof a)[number]) => boolean) => a.filter(p).length / a.length;
    expect(share((g) => g.type === 'qemu')).toBeGreaterThan(0.6);
    expect(share((g) => g.type === 'lxc')).toBeGreaterThan(0.2);
    expect(share((g) => g.template === 1)).toBeGreaterThan(0.005);
    expect(share((g) => g.status === 'paused')).toBeGreaterThan(0);
    expect(share((g) => g.lock !== undefined)).toBeGreaterThan(0);
    expect(new Set(a.map((g) => g.node))).toEqual(new Set(['pve1', 'pve2', 'pve3']));
    expect(a.every((g) => g.type === 'qemu' || g.status !== 'paused')).toBe(true);
  });

  it('serves a large inventory (20,000 guests; 100,000 in the benchmark) from a cached body rebuilt after a change', async () => {
    sim.inventory.seed(20_000, { nodes: 8, seed: 1 });
    const vmids = (text: string) => text.match(/"vmid":/g)?.length ?? 0;
    const first = await get('/api2/json/cluster/resources?type=vm');
    expect(first.text.startsWith('{"data":[{')).toBe(true);
    expect(vmids(first.text)).toBe(20_000);
    expect(sim.inventory.resourcesBody('vm')).toBe(sim.inventory.resourcesBody('vm'));
    sim.inventory.remove(sim.inventory.list()[0]!.vmid);
    expect(vmids((await get('/api2/json/cluster/resources?type=vm')).text)).toBe(19_999);
  });
});

describe('control API', () => {
  it('upserts, patches, lists and removes guests', async () => {
    expect((await control('POST', '/_sim/guests', { vmid: 500, name: 'web', lock: 'create' })).body.guest).toMatchObject({ vmid: 500, type: 'qemu', status: 'running', lock: 'create' });
    expect((await control('PATCH', '/_sim/guests/500', { status: 'stopped', lock: null })).body.guest).not.toHaveProperty('lock');
    expect((await control('GET', '/_sim/guests')).body.guests).toHaveLength(1);
    expect((await get('/api2/json/cluster/resources?type=vm')).json().data[0]).toMatchObject({ vmid: 500, status: 'stopped' });
    expect((await control('DELETE', '/_sim/guests/500')).status).toBe(200);
    expect((await control('DELETE', '/_sim/guests/500')).status).toBe(404);
  });

  it('seeds over HTTP', async () => {
    const r = await control('POST', '/_sim/seed', { n: 300, nodes: 2, seed: 9 });
    expect(r.body).toEqual({ ok: true, guests: 300, nodes: ['pve1', 'pve2'] });
    expect(sim.inventory.list()).toEqual(generateGuests(300, { nodes: 2, seed: 9 }));
  });

  it('says what is wrong with a bad control request', async () => {
    const r = await control('POST', '/_sim/guests', { vmid: 'x' });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/^vmid: /);
    const f = await control('POST', '/_sim/faults', { kind: 'down' });
    expect(f.status).toBe(400);
    expect(f.body.error).toContain('durationMs');
  });

  it('arms faults one-shot or sticky, lists and clears them', async () => {
    sim.inventory.seed(10, { seed: 1 });
    await control('POST', '/_sim/faults', { kind: 'status500', times: 2 });
    expect((await get('/api2/json/version')).status).toBe(500);
    expect((await get('/api2/json/version')).status).toBe(500);
    expect((await get('/api2/json/version')).status).toBe(200);

    await control('POST', '/_sim/faults', { kind: 'partialList', fraction: 0.5 });
    // Sticky: no `remaining` count.
    expect((await control('GET', '/_sim/faults')).body.faults).toEqual([{ spec: { kind: 'partialList', fraction: 0.5 } }]);
    for (let i = 0; i < 3; i++) expect((await get('/api2/json/cluster/resources?type=vm')).json().data).toHaveLength(5);
    await control('DELETE', '/_sim/faults/partialList');
    expect((await get('/api2/json/cluster/resources?type=vm')).json().data).toHaveLength(10);
  });

  it('injects broken bodies', async () => {
    sim.inventory.seed(10, { seed: 1 });
    sim.faults.set({ kind: 'badJson', times: 1 });
    const bad = await get('/api2/json/cluster/resources?type=vm');
    expect(() => bad.json()).toThrow();
    sim.faults.set({ kind: 'wrongContentType', times: 1 });
    expect((await get('/api2/json/version')).type).toBe('application/json');
    sim.faults.set({ kind: 'emptyList', times: 1 });
    expect((await get('/api2/json/cluster/resources?type=vm')).text).toBe('{"data":[]}');
    sim.faults.set({ kind: 'truncated', times: 1 });
    await expect(get('/api2/json/cluster/resources?type=vm')).rejects.toThrow();
    sim.faults.set({ kind: 'badEntries', cases: ['nameHuge'], times: 1 });
    const withBad = (await get('/api2/json/cluster/resources?type=vm')).json().data as { name: string }[];
    expect(withBad).toHaveLength(11);
    expect(withBad[10]!.name).toHaveLength(10_240);
  });

  it('goes down (connection refused) and comes back on the same port', async () => {
    sim.faults.set({ kind: 'down', mode: 'refuse', durationMs: 200 });
    await expect(get('/api2/json/version')).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 350));
    expect((await get('/api2/json/version')).status).toBe(200);
  });
});
