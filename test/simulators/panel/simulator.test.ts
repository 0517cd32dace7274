// The simulator's strict wire contract, over real HTTP: auth, validation, ids, table, configurable answers.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PanelSimulator } from '../../../src/simulators/panel/index.js';
import { API_KEY, createVps, sync } from './helpers.js';

let sim: PanelSimulator;
let url: string;

beforeEach(async () => {
  sim = new PanelSimulator({ apiKey: API_KEY, knownUserIds: [5, 6], now: () => Date.UTC(2025, 9, 27, 10, 30) });
  ({ url } = await sim.start());
});
afterEach(async () => {
  await sim.stop();
});

describe('authentication', () => {
  it.each([
    ['missing', null],
    ['wrong', 'x'.repeat(API_KEY.length)],
    ['shorter', API_KEY.slice(1)],
  ])('answers 401 to a %s key, without touching the table', async (_name, key) => {
    const r = await sync(url, createVps(), { key });
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ error: 'Unauthorized', message: 'Invalid or missing API key' });
    expect(sim.table()).toEqual([]);
  });
});

describe('create', () => {
  it('stores the VPS exactly as sent (RAM in MB) and answers 201 with the documented body', async () => {
    const r = await sync(url, createVps());
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      status: 'success',
      message: 'VPS synced successfully',
      vps: { id: 1, name: 'test-vps', status: 'creating', created_at: '2025-10-27T10:30:00.000Z' },
    });
    expect(sim.table()).toEqual([
      {
        id: 1, user_id: 5, name: 'test-vps', cpu: 2, ram: 2048, disk: 50, os: 'Ubuntu 22.04 LTS', status: 'creating',
        hypervisor: 'proxmox', created_at: '2025-10-27T10:30:00.000Z', updated_at: '2025-10-27T10:30:00.000Z',
      },
    ]);
  });

  it('assigns ids incrementally and never dedupes (plain INSERT)', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(((await sync(url, createVps())).body as { vps: { id: number } }).vps.id);
    expect(ids).toEqual([1, 2, 3]);
    expect(sim.table()).toHaveLength(3);
  });

  it('defaults hypervisor to proxmox when absent', async () => {
    const body = createVps();
    delete (body.vps as Record<string, unknown>)['hypervisor'];
    expect((await sync(url, body)).status).toBe(201);
    expect(sim.table()[0]!.hypervisor).toBe('proxmox');
  });

  it('answers 200 when configured so', async () => {
    sim.configure({ successStatus: 200 });
    expect((await sync(url, createVps())).status).toBe(200);
  });
});

describe('strict validation: every invalid field is a 400 with a message saying what is wrong', () => {
  const cases: [string, unknown, RegExp][] = [
    ['body not an object', [1, 2], /body must be a JSON object/],
    ['unknown action', { action: 'upsert', vps: {} }, /action must be one of create, update, delete/],
    ['missing action', { vps: {} }, /action must be one of/],
    ['vps not an object', { action: 'create', vps: 'x' }, /vps must be an object/],
    ['user_id missing', createVps({ user_id: undefined }), /vps\.user_id must be a positive integer/],
    ['user_id zero', createVps({ user_id: 0 }), /vps\.user_id must be a positive integer/],
    ['user_id string', createVps({ user_id: '5' }), /vps\.user_id must be a positive integer/],
    ['user_id unknown', createVps({ user_id: 99 }), /^user not found$/],
    ['name empty', createVps({ name: '  ' }), /vps\.name must be a non-empty string/],
    ['name number', createVps({ name: 7 }), /vps\.name must be a non-empty string/],
    ['cpu zero', createVps({ cpu: 0 }), /vps\.cpu must be a positive integer/],
    ['cpu fractional', createVps({ cpu: 1.5 }), /vps\.cpu must be a positive integer/],
    ['ram negative', createVps({ ram: -1 }), /vps\.ram must be a positive integer \(MB\)/],
    ['ram string', createVps({ ram: '2048' }), /vps\.ram must be a positive integer/],
    ['disk missing', createVps({ disk: undefined }), /vps\.disk must be a positive integer \(GB\)/],
    ['os missing', createVps({ os: undefined }), /vps\.os must be a string/],
    ['status unknown', createVps({ status: 'paused' }), /vps\.status must be one of creating, running, stopped, suspended/],
    ['hypervisor unknown', createVps({ hypervisor: 'virtualbox' }), /vps\.hypervisor must be one of proxmox, vmware, hyperv, kvm, xen/],
    ['update without id', { action: 'update', vps: { status: 'running' } }, /vps\.id must be a positive integer/],
    ['update without status', { action: 'update', vps: { id: 1 } }, /vps\.status must be one of/],
    ['delete with string id', { action: 'delete', vps: { id: '1' } }, /vps\.id must be a positive integer/],
  ];
  it.each(cases)('%s', async (_name, body, message) => {
    const r = await sync(url, body);
    expect(r.status).toBe(400);
    const b = r.body as { error: string; message: string };
    expect(b.error).toBe('Bad Request');
    expect(b.message).toMatch(message);
    expect(sim.table()).toEqual([]);
  });

  it('rejects a non-JSON body and a wrong Content-Type', async () => {
    const notJson = await sync(url, '{"action":', {});
    expect(notJson.status).toBe(400);
    expect(notJson.body).toEqual({ error: 'Bad Request', message: 'request body is not valid JSON' });
    const wrongType = await sync(url, createVps(), { contentType: 'text/plain' });
    expect(wrongType.status).toBe(400);
    expect((wrongType.body as { message: string }).message).toMatch(/Content-Type must be application\/json/);
    const withCharset = await sync(url, createVps(), { contentType: 'application/json; charset=utf-8' });
    expect(withCharset.status).toBe(201);
  });

  it('accepts every hypervisor the panel knows', async () => {
    for (const h of ['proxmox', 'vmware', 'hyperv', 'kvm', 'xen']) expect((await sync(url, createVps({ hypervisor: h }))).status).toBe(201);
  });

  it('answers 404 to other routes and 405 to GET on the sync route', async () => {
    expect((await fetch(`${url}/api/vps`)).status).toBe(404);
    expect((await fetch(`${url}/api/vps/sync`)).status).toBe(405);
  });
});

describe('update and delete', () => {
  it('update changes the status and applies the valid optional fields, ignoring invalid ones', async () => {
    await sync(url, createVps());
    const r = await sync(url, { action: 'update', vps: { id: 1, status: 'running', ram: 4096, cpu: 'many', name: '' } });
    expect(r.status).toBe(201);
    expect((r.body as { vps: { status: string } }).vps.status).toBe('running');
    expect(sim.table()[0]).toMatchObject({ id: 1, status: 'running', ram: 4096, cpu: 2, name: 'test-vps' });
  });

  it('delete removes the row', async () => {
    await sync(url, createVps());
    await sync(url, createVps());
    expect((await sync(url, { action: 'delete', vps: { id: 1 } })).status).toBe(201);
    expect(sim.table().map((r) => r.id)).toEqual([2]);
  });

  it('unknown id: 404 by default', async () => {
    for (const body of [{ action: 'update', vps: { id: 42, status: 'running' } }, { action: 'delete', vps: { id: 42 } }]) {
      const r = await sync(url, body);
      expect(r.status).toBe(404);
      expect(r.body).toEqual({ error: 'Not Found', message: 'VPS not found' });
    }
  });

  it('unknown id: success when configured like the real panel (no rows-affected check)', async () => {
    sim.configure({ unknownId: '200', successStatus: 200 });
    for (const body of [{ action: 'update', vps: { id: 42, status: 'running' } }, { action: 'delete', vps: { id: 42 } }]) {
      const r = await sync(url, body);
      expect(r.status).toBe(200);
      expect((r.body as { status: string }).status).toBe('success');
    }
    expect(sim.table()).toEqual([]);
  });
});

describe('counters', () => {
  it('counts requests by action and by result', async () => {
    await sync(url, createVps());
    await sync(url, createVps({ cpu: 0 }));
    await sync(url, { action: 'delete', vps: { id: 9 } });
    await sync(url, 'nope');
    await sync(url, createVps(), { key: null });
    const s = sim.stats();
    expect(s.total).toBe(5);
    expect(s.byAction).toEqual({ create: 3, delete: 1, invalid: 1 });
    expect(s.byResult).toEqual({ '201': 1, '400': 2, '404': 1, '401': 1 });
    expect(s.rows).toBe(1);
    expect(s.nextId).toBe(2);
  });
});
