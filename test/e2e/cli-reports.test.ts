// What `plan` and `status` tell an operator must be true: a plan that could not read a source or
// billing never says the panel matches, and `status --json` carries no field that means something
// else than the same field of the daemon's /status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort } from '../support/ports.js';
import { World } from '../support/world.js';

describe('plan is incomplete when a source or billing cannot be read', () => {
  let world: World;
  let pve1: Record<string, unknown>;
  let deadSource: Record<string, unknown>;
  beforeAll(async () => {
    world = await new World().start();
    world.addVm({ vmid: 100 });
    world.bill(100, 5);
    expect((await world.cli('once')).code).toBe(0);
    pve1 = (world.configObject().sources as Record<string, unknown>[])[0]!;
    deadSource = { ...pve1, name: 'pve2', url: `https://127.0.0.1:${await closedPort()}` };
  });
  afterAll(async () => {
    await world.stop();
  });

  const brokenBilling = (w: World) => ({ billing: { driver: 'sqlite', url: w.billingPath, query: 'SELECT * FROM no_such_table' } });
  // [case, config overrides, what the line on stderr names, a change pending (pve1/100 stopped) or not]
  const cases: [string, (w: World) => Record<string, unknown>, RegExp, boolean][] = [
    ['billing unavailable, nothing to send', brokenBilling, /^plan is incomplete: billing is unavailable; /m, false],
    ['billing unavailable, a status update to send', brokenBilling, /^plan is incomplete: billing is unavailable; /m, true],
    ['one source of two unknown, nothing to send', () => ({ sources: [pve1, deadSource] }), /^plan is incomplete: source pve2 is unknown \(its listing failed\); /m, false],
    ['one source unknown and billing unavailable', (w) => ({ sources: [pve1, deadSource], ...brokenBilling(w) }), /^plan is incomplete: source pve2 is unknown \(its listing failed\) and billing is unavailable; .*without them/m, true],
  ];
  it.each(cases)('%s: exit 1, never "the panel matches", and what it could plan is still shown', async (_name, over, line, change) => {
    world.pve.inventory.update(100, { status: change ? 'stopped' : 'running' });
    world.writeConfig(over(world));
    try {
      const text = await world.cli('plan');
      expect(text.code, text.stderr).toBe(1);
      expect(text.stderr).toMatch(line);
      expect(text.stdout).not.toMatch(/the panel matches/);
      if (change) expect(text.stdout).toMatch(/~ update pve1\/100 .*status → stopped/);
      else expect(text.stdout).toMatch(/^No changes from what could be read; .* could not be read, so the panel may still differ\.$/m);

      const json = await world.cli('plan', '--json');
      expect(json.code).toBe(1);
      expect(json.stderr).toMatch(line);
      const parsed = JSON.parse(json.stdout) as { complete: boolean; actions: unknown[] };
      expect(parsed.complete).toBe(false);
      expect(parsed.actions).toHaveLength(change ? 1 : 0);
    } finally {
      world.pve.inventory.update(100, { status: 'running' });
      world.writeConfig();
    }
  });

  it('with everything read, the exit code says whether there are changes (0 none, 2 some)', async () => {
    const same = await world.cli('plan');
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toMatch(/^No changes: the panel matches\.$/m);
    expect(JSON.parse((await world.cli('plan', '--json')).stdout)).toMatchObject({ complete: true });
    world.pve.inventory.update(100, { status: 'stopped' });
    try {
      expect((await world.cli('plan')).code).toBe(2);
    } finally {
      world.pve.inventory.update(100, { status: 'running' });
    }
  });

  // Same world: its passes so far are the setup's and the tests' above; status lists each one's start.
  it("status --json has no startedAt: the state file does not know when a daemon started (each pass's start is in lastPasses)", async () => {
    expect((await world.cli('once')).code).toBe(0);
    const r = await world.cli('status', '--json');
    expect(r.code, r.stderr).toBe(0);
    const status = JSON.parse(r.stdout) as Record<string, unknown> & { lastPasses: { startedAt: string }[] };
    expect(status).not.toHaveProperty('startedAt');
    expect(status.lastPasses.length).toBeGreaterThanOrEqual(2);
    for (const p of status.lastPasses) expect(Date.parse(p.startedAt)).not.toBeNaN();
  });
});
