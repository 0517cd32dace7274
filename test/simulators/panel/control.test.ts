// The unauthenticated control API under /_sim/, used by tests and benchmarks in other processes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PanelSimulator } from '../../../src/simulators/panel/index.js';
import { API_KEY, control, createVps, sync } from './helpers.js';

let sim: PanelSimulator;
let url: string;

beforeEach(async () => {
  sim = new PanelSimulator({ apiKey: API_KEY });
  ({ url } = await sim.start());
});
afterEach(async () => {
  await sim.stop();
});

describe('control API', () => {
  it('GET /_sim/table and /_sim/stats show the table and counters', async () => {
    await sync(url, createVps({ ram: 8192 }));
    const table = await control(url, 'GET', '/_sim/table');
    expect(table.status).toBe(200);
    expect((table.body as { rows: unknown[] }).rows).toEqual([expect.objectContaining({ id: 1, ram: 8192, user_id: 5 })]);
    const stats = await control(url, 'GET', '/_sim/stats');
    expect(stats.body).toEqual({ total: 1, byAction: { create: 1 }, byResult: { '201': 1 }, rows: 1, nextId: 2 });
  });

  it('GET /_sim/process reports the serving process and its CPU time, which grows as it serves', async () => {
    const before = (await control(url, 'GET', '/_sim/process')).body as { pid: number; cpuMicros: number };
    expect(before.pid).toBe(process.pid);
    for (let i = 0; i < 50; i++) await sync(url, createVps({ name: `cpu-${i}.example.net` }));
    const after = (await control(url, 'GET', '/_sim/process')).body as { pid: number; cpuMicros: number };
    expect(after.cpuMicros).toBeGreaterThan(before.cpuMicros);
  });

  it('POST /_sim/faults installs a fault, GET lists it, DELETE removes it', async () => {
    const added = await control(url, 'POST', '/_sim/faults', { mode: 'commitThenFail', action: 'create', times: 1 });
    expect(added.status).toBe(201);
    const id = (added.body as { id: number }).id;
    const listed = await control(url, 'GET', '/_sim/faults');
    expect((listed.body as { faults: unknown[] }).faults).toEqual([
      { id, spec: { mode: 'commitThenFail', action: 'create', times: 1 }, remaining: 1, fired: 0 },
    ]);
    expect((await control(url, 'DELETE', `/_sim/faults/${id}`)).status).toBe(200);
    expect((await control(url, 'DELETE', `/_sim/faults/${id}`)).status).toBe(404);
    expect((await sync(url, createVps())).status).toBe(201);
  });

  it('DELETE /_sim/faults clears every fault', async () => {
    await control(url, 'POST', '/_sim/faults', { mode: 'status5xx', code: 503 });
    await control(url, 'POST', '/_sim/faults', { mode: 'nonJson' });
    await control(url, 'DELETE', '/_sim/faults');
    expect((await sync(url, createVps())).status).toBe(201);
  });

  it('rejects an invalid fault with 400 saying why', async () => {
    for (const bad of [{ mode: 'explode' }, { mode: 'status5xx', code: 404 }, { mode: 'slowMs' }, { mode: 'nonJson', probability: 2 }, { mode: 'foreign' }, { mode: 'foreign', status: 99 }, { mode: 'foreign', status: 404, body: 7 }, 'not json']) {
      const r = await control(url, 'POST', '/_sim/faults', bad);
      expect(r.status).toBe(400);
      expect((r.body as { message: string }).message.length).toBeGreaterThan(0);
    }
  });

  it('POST /_sim/config switches behaviour at run time', async () => {
    const r = await control(url, 'POST', '/_sim/config', { knownUserIds: [7], unknownId: '200', successStatus: 200 });
    expect(r.body).toEqual({ knownUserIds: [7], unknownId: '200', successStatus: 200 });
    expect((await sync(url, createVps({ user_id: 5 }))).body).toEqual({ error: 'Bad Request', message: 'user not found' });
    expect((await sync(url, createVps({ user_id: 7 }))).status).toBe(200);
    expect((await sync(url, { action: 'delete', vps: { id: 99 } })).status).toBe(200);
  });

  it('POST /_sim/reset empties the table, counters, faults and behaviour; ids restart at 1', async () => {
    await sync(url, createVps());
    await control(url, 'POST', '/_sim/faults', { mode: 'status5xx' });
    await control(url, 'POST', '/_sim/config', { successStatus: 200 });
    expect((await control(url, 'POST', '/_sim/reset')).status).toBe(200);
    expect(sim.table()).toEqual([]);
    const r = await sync(url, createVps());
    expect(r.status).toBe(201);
    expect((r.body as { vps: { id: number } }).vps.id).toBe(1);
    expect(sim.stats().total).toBe(1);
  });

  it('POST /_sim/down refuses connections for a while, then listens again on the same port', async () => {
    expect((await control(url, 'POST', '/_sim/down', { forMs: 300 })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    await expect(fetch(`${url}/_sim/stats`)).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 500));
    expect((await control(url, 'GET', '/_sim/stats')).status).toBe(200);
  });

  it('needs a duration for /_sim/down, or nobody could bring it back', async () => {
    expect((await control(url, 'POST', '/_sim/down', {})).status).toBe(400);
  });

  it('answers 404 to unknown control routes', async () => {
    expect((await control(url, 'GET', '/_sim/nothing')).status).toBe(404);
  });
});
