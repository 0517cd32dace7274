// A state file in which two VMs hold one panel id (written by a build before the daemon released
// the old holder of an id the panel handed out again, or edited by hand): each VM's updates would
// rewrite the other customer's VPS, and only the panel can say which VM that VPS is. The daemon
// reports it at start-up and in `status`, naming the way out; `resolve --forget` of the wrong one
// makes it a new VPS of its own.
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { World } from '../support/world.js';

describe('two VMs holding one panel id', () => {
  let world: World;
  beforeEach(async () => {
    world = await new World().start();
    world.addVm({ vmid: 100, name: 'alice-web' });
    world.addVm({ vmid: 101, name: 'bob-db' });
    world.bill(100, 5);
    world.bill(101, 6);
    expect((await world.cli('once')).code).toBe(0);
  });
  afterEach(async () => {
    await world.stop();
  });

  /** Makes pve1/101 claim pve1/100's VPS, as an old state file may; returns that panel id. */
  function corrupt(): number {
    const db = new Database(world.statePath);
    try {
      const id = db.prepare("SELECT panel_id FROM vps WHERE external_id = '100'").pluck().get() as number;
      db.prepare("UPDATE vps SET panel_id = ? WHERE external_id = '101'").run(id);
      return id;
    } finally {
      db.close();
    }
  }

  it('status names both VMs and the way out; start-up warns once; resolve --forget of the wrong one gives it its own VPS', async () => {
    const id = corrupt();
    const status = await world.cli('status');
    expect(status.stdout).toContain(`SHARED #${id} is held by pve1/100 and pve1/101`);
    expect(status.stdout).toContain('ospab-vps-sync resolve <the other one> --forget');
    const json = JSON.parse((await world.cli('status', '--json')).stdout) as { sharedPanelIds: unknown };
    expect(json.sharedPanelIds).toEqual([{ panelId: id, keys: ['pve1/100', 'pve1/101'] }]);

    world.writeConfig({ log: { level: 'warn' } });
    const once = await world.cli('once');
    expect(`${once.stdout}${once.stderr}`).toMatch(new RegExp(`1 panel id\\(s\\) are held by more than one VM in the state file \\(#${id}: pve1/100 and pve1/101\\)`));

    // The panel says VPS #id is alice-web (pve1/100): bob's entry is the wrong one.
    expect(world.panel.table().find((v) => v.id === id)?.name).toBe('alice-web');
    expect((await world.cli('resolve', 'pve1/101', '--forget')).code).toBe(0);
    expect((await world.cli('once')).code).toBe(0);
    const after = JSON.parse((await world.cli('status', '--json')).stdout) as { sharedPanelIds: unknown[] };
    expect(after.sharedPanelIds).toEqual([]);
    const bob = world.panel.table().filter((v) => v.name === 'bob-db');
    expect(bob.length).toBeGreaterThanOrEqual(1);
    expect(bob.at(-1)!.id).not.toBe(id);
    expect(world.panel.table().find((v) => v.id === id)?.name).toBe('alice-web');
  });

  it('a clean state file shows nothing of the kind', async () => {
    const status = await world.cli('status');
    expect(status.stdout).not.toContain('SHARED');
    expect((JSON.parse((await world.cli('status', '--json')).stdout) as { sharedPanelIds: unknown[] }).sharedPanelIds).toEqual([]);
  });
});
