// The panel simulator's change history, which the chaos suite's "never deleted wrongly" and
// "never duplicated" properties are checked against.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PanelSimulator } from '../../src/simulators/panel/index.js';

const KEY = 'history-test-key-0123456789abcdef0123';
const vps = { user_id: 5, name: 'web', cpu: 2, ram: 2048, disk: 20, os: 'Debian 12', status: 'running', hypervisor: 'proxmox' };

describe('panel simulator history', () => {
  let sim: PanelSimulator;
  let clock = 1_000;
  const post = async (body: unknown) =>
    fetch(`${sim.url}/api/vps/sync`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': KEY }, body: JSON.stringify(body) });

  beforeEach(async () => {
    sim = new PanelSimulator({ apiKey: KEY, now: () => clock++ });
    await sim.start();
  });
  afterEach(async () => {
    await sim.stop();
  });

  it('is off by default: nothing is kept', async () => {
    await post({ action: 'create', vps });
    expect(sim.history()).toEqual([]);
  });

  it('logs every committed create, update and delete in order, with the row as it was', async () => {
    sim.recordHistory();
    await post({ action: 'create', vps });
    await post({ action: 'update', vps: { id: 1, status: 'stopped' } });
    await post({ action: 'delete', vps: { id: 1 } });
    await post({ action: 'delete', vps: { id: 1 } }); // 404: nothing committed, nothing logged
    const h = sim.history();
    expect(h.map((e) => [e.seq, e.change, e.row.id, e.row.status])).toEqual([
      [1, 'create', 1, 'running'],
      [2, 'update', 1, 'stopped'],
      [3, 'delete', 1, 'stopped'],
    ]);
    expect(h[0]!.at).toBeLessThan(h[2]!.at);
    // Copies: changing them does not change the log.
    h[0]!.row.name = 'changed';
    expect(sim.history()[0]!.row.name).toBe('web');
  });

  it('logs what faults commit (after-commit resets, commit-then-fail) and not what they refuse', async () => {
    sim.recordHistory();
    sim.addFault({ mode: 'commitThenFail', times: 1 });
    expect((await post({ action: 'create', vps })).status).toBe(500);
    sim.addFault({ mode: 'status5xx', code: 503, times: 1 });
    expect((await post({ action: 'create', vps })).status).toBe(503);
    sim.addFault({ mode: 'resetAfterCommit', times: 1 });
    await expect(post({ action: 'create', vps })).rejects.toThrow();
    expect(sim.history().map((e) => `${e.change} #${e.row.id}`)).toEqual(['create #1', 'create #2']);
  });

  it('survives reset() switched on, starting from an empty log', async () => {
    await sim.stop();
    sim = new PanelSimulator({ apiKey: KEY, history: true });
    await sim.start();
    await post({ action: 'create', vps });
    sim.reset();
    expect(sim.history()).toEqual([]);
    await post({ action: 'create', vps });
    expect(sim.history().map((e) => `${e.change} #${e.row.id}`)).toEqual(['create #1']);
  });
});
