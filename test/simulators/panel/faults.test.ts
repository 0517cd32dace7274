// Fault injection as seen by a raw HTTP client: what each mode does to the answer and to the table.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PanelSimulator } from '../../../src/simulators/panel/index.js';
import { API_KEY, createVps, sync } from './helpers.js';

let sim: PanelSimulator;
let url: string;

beforeEach(async () => {
  sim = new PanelSimulator({ apiKey: API_KEY, seed: 42 });
  ({ url } = await sim.start());
});
afterEach(async () => {
  await sim.stop();
});

/** Sends a create and reports the status, or `network error` when the connection broke. */
async function tryCreate(): Promise<number | string> {
  try {
    return (await sync(url, createVps())).status;
  } catch {
    return 'network error';
  }
}

describe('modes', () => {
  it('status5xx answers the chosen code and commits nothing', async () => {
    sim.addFault({ mode: 'status5xx', code: 503 });
    const r = await sync(url, createVps());
    expect(r.status).toBe(503);
    expect(r.body).toEqual({ error: 'Service Unavailable', message: 'simulated failure' });
    expect(sim.table()).toEqual([]);
  });

  it('resetBeforeCommit drops the connection and commits nothing', async () => {
    sim.addFault({ mode: 'resetBeforeCommit' });
    expect(await tryCreate()).toBe('network error');
    expect(sim.table()).toEqual([]);
    expect(sim.stats().byResult).toEqual({ reset: 1 });
  });

  it('resetAfterCommit commits, then drops the connection', async () => {
    sim.addFault({ mode: 'resetAfterCommit' });
    expect(await tryCreate()).toBe('network error');
    expect(sim.table()).toHaveLength(1);
  });

  it('commitThenFail commits, then answers 500 (the duplicate-producing case)', async () => {
    sim.addFault({ mode: 'commitThenFail' });
    const r = await sync(url, createVps());
    expect(r.status).toBe(500);
    expect(sim.table()).toHaveLength(1);
  });

  it('nonJson answers an nginx HTML 502 page without reaching the panel', async () => {
    sim.addFault({ mode: 'nonJson' });
    const r = await sync(url, createVps());
    expect(r.status).toBe(502);
    expect(r.contentType).toBe('text/html');
    expect(r.text).toContain('<title>502 Bad Gateway</title>');
    expect(sim.table()).toEqual([]);
  });

  it('foreign answers the given status, content type and body without reaching the panel', async () => {
    sim.addFault({ mode: 'foreign', status: 404, body: '404 page not found', contentType: 'text/plain; charset=utf-8' });
    const r = await sync(url, createVps());
    expect([r.status, r.contentType, r.text]).toEqual([404, 'text/plain; charset=utf-8', '404 page not found']);
    expect(sim.table()).toEqual([]);
    expect(sim.stats().byResult).toEqual({ '404': 1 });
  });

  it('foreign with no body answers an empty one (a 204, an empty 404)', async () => {
    sim.addFault({ mode: 'foreign', status: 204, times: 1 });
    sim.addFault({ mode: 'foreign', status: 404, times: 1 });
    for (const status of [204, 404]) {
      const r = await sync(url, createVps());
      expect([r.status, r.text]).toEqual([status, '']);
    }
    expect(sim.table()).toEqual([]);
  });

  it('foreign echoes request headers named {{like-this}}, as a proxy showing the request would', async () => {
    sim.addFault({ mode: 'foreign', status: 400, body: 'key={{x-api-key}} type={{content-type}} none={{x-not-sent}}' });
    const r = await sync(url, createVps());
    expect(r.text).toBe(`key=${API_KEY} type=application/json none=`);
  });

  it('slowMs with commit before: the row exists while the answer is still delayed', async () => {
    sim.addFault({ mode: 'slowMs', ms: 300, commit: 'before' });
    const pending = sync(url, createVps());
    await new Promise((r) => setTimeout(r, 100));
    expect(sim.table()).toHaveLength(1);
    expect((await pending).status).toBe(201);
  });

  it('slowMs with commit after: nothing is committed when the client gives up first', async () => {
    sim.addFault({ mode: 'slowMs', ms: 300, commit: 'after' });
    const gaveUp = await fetch(`${url}/api/vps/sync`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-API-Key': API_KEY },
      body: JSON.stringify(createVps()),
      signal: AbortSignal.timeout(50),
    }).then(() => 'answered', () => 'gave up');
    expect(gaveUp).toBe('gave up');
    await new Promise((r) => setTimeout(r, 400));
    expect(sim.table()).toEqual([]);
    expect(sim.stats().byResult).toEqual({ abandoned: 1 });
  });

  it('down refuses connections until up', async () => {
    await sim.down();
    await expect(fetch(`${url}/_sim/stats`)).rejects.toThrow();
    await sim.up();
    expect((await fetch(`${url}/_sim/stats`)).status).toBe(200);
  });
});

describe('triggers', () => {
  it('times: fires n times, then disappears', async () => {
    sim.addFault({ mode: 'status5xx', code: 500, times: 2 });
    expect([await tryCreate(), await tryCreate(), await tryCreate()]).toEqual([500, 500, 201]);
    expect(sim.faults()).toEqual([]);
  });

  it('sticky: fires until removed', async () => {
    const id = sim.addFault({ mode: 'status5xx', code: 504 });
    expect([await tryCreate(), await tryCreate()]).toEqual([504, 504]);
    expect(sim.faults()[0]).toMatchObject({ id, fired: 2, remaining: null });
    sim.removeFault(id);
    expect(await tryCreate()).toBe(201);
  });

  it('action: only hits requests with that action', async () => {
    sim.addFault({ mode: 'status5xx', action: 'delete' });
    expect(await tryCreate()).toBe(201);
    expect((await sync(url, { action: 'delete', vps: { id: 1 } })).status).toBe(500);
    expect(sim.table()).toHaveLength(1);
  });

  it('probability: seeded, so the same seed gives the same sequence', async () => {
    const run = async () => {
      sim.reset(7);
      sim.addFault({ mode: 'status5xx', probability: 0.5 });
      const out: (number | string)[] = [];
      for (let i = 0; i < 20; i++) out.push(await tryCreate());
      return out;
    };
    const first = await run();
    const second = await run();
    expect(second).toEqual(first);
    expect(first).toContain(500);
    expect(first).toContain(201);
  });

  it('the first matching fault wins', async () => {
    sim.addFault({ mode: 'status5xx', code: 502, times: 1 });
    sim.addFault({ mode: 'status5xx', code: 504, times: 1 });
    expect([await tryCreate(), await tryCreate(), await tryCreate()]).toEqual([502, 504, 201]);
  });
});
