// A source renamed or removed in the config. Left alone, the daemon took every VM of a renamed
// source for new and created a second VPS for each customer, and the old ones were never managed
// again; it now refuses to start (78) until the operator says which it was.
import { afterEach, describe, expect, it } from 'vitest';
import { World } from '../support/world.js';

describe('a source renamed or removed in the config', () => {
  let world: World;
  afterEach(async () => {
    await world.stop();
  });

  async function started(): Promise<World> {
    const w = await new World().start();
    for (const vmid of [100, 101]) {
      w.addVm({ vmid, name: `vm${vmid}` });
      w.bill(vmid, 5);
    }
    expect((await w.cli('once')).code).toBe(0);
    return w;
  }
  const sourcesNamed = (w: World, name: string) => [{ ...(w.configObject().sources as Record<string, unknown>[])[0]!, name }];

  it('renamed: once and plan refuse with the commands to run; rename-source moves the VPSes, no VPS is created again', async () => {
    world = await started();
    world.writeConfig({ sources: sourcesNamed(world, 'pve-fra1') });
    for (const command of ['once', 'plan']) {
      const refused = await world.cli(command);
      expect(refused.code).toBe(78);
      expect(refused.stderr).toMatch(/the state file holds "pve1" \(2 VPS\(es\)\) of source\(s\) the config no longer has.*rename-source pve1 <new name>.*forget-source pve1/);
    }
    expect((await world.cli('status')).code).toBe(0); // still readable

    const renamed = await world.cli('rename-source', 'pve1', 'pve-fra1');
    expect(renamed.code, renamed.stderr).toBe(0);
    expect(renamed.stdout).toMatch(/moved 2 VPS\(es\) and the open calls of source "pve1" to "pve-fra1"/);
    expect((await world.cli('once')).code).toBe(0);
    expect(world.panel.stats().byAction.create).toBe(2); // the first pass's, none since
    expect(world.panel.table().map((r) => [r.id, r.name])).toEqual([[1, 'vm100'], [2, 'vm101']]);
    expect((await world.cli('plan')).code).toBe(0);
  });

  it('removed: forget-source drops what the state file holds; the VPSes stay on the panel', async () => {
    world = await started();
    world.writeConfig({ sources: sourcesNamed(world, 'pve2') }); // pve1 gone, another cluster configured
    expect((await world.cli('once')).code).toBe(78);
    const forgot = await world.cli('forget-source', 'pve1');
    expect(forgot.code, forgot.stderr).toBe(0);
    expect(forgot.stdout).toMatch(/forgot 2 VPS\(es\).*stay on the panel/);
    expect(world.panel.table()).toHaveLength(2);
    expect((await world.cli('plan')).code).not.toBe(78);
  });

  it.each([
    { args: ['rename-source', 'pve1', 'nope'], code: 64, message: /source "nope" is not in the config/ },
    { args: ['rename-source', 'pve1'], code: 64, message: /usage: ospab-vps-sync rename-source <old name> <new name>/ },
    { args: ['forget-source', 'pve1'], code: 64, message: /source "pve1" is still in the config: remove it there first/ },
    { args: ['forget-source', 'other'], code: 1, message: /the state file holds nothing of source "other"/ },
  ])('refuses $args (exit $code) and changes nothing', async ({ args, code, message }) => {
    world = await started();
    const r = await world.cli(...(args as [string, ...string[]]));
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
    expect((await world.cli('once')).code).toBe(0);
    expect(world.panel.stats().byAction.create).toBe(2);
  });
});
