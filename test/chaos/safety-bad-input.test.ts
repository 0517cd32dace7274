// Issue 5, bad input, end to end through the CLI: a malformed VM entry is rejected alone with a
// clear line, an unusable answer makes the whole source unknown, and in neither case is anything
// else affected or anything deleted. (The per-entry messages are pinned in
// test/sources/proxmox/bad-entries.test.ts; here it is the daemon's behaviour around them.)
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BAD_ENTRY_CASES, type BadEntryCase } from '../../src/simulators/proxmox/index.js';
import { GIB, World } from '../support/world.js';

/** What the line must say about each malformed entry (the VM and the reason). */
const REASON: Record<BadEntryCase, RegExp> = {
  vmidString: /vmid must be a number/,
  vmidMissing: /vmid is missing/,
  memString: /maxmem must be a number of bytes/,
  memNegative: /maxmem must be positive/,
  memAbsurd: /maxmem is more than 64 TiB/,
  diskAbsurd: /maxdisk is more than 1 PiB/,
  cpuAbsurd: /maxcpu must be ≤ 1024 cores/,
  nameHuge: /name is 10240 characters long/,
  nameControl: /name contains control characters/,
  statusUnknown: /status must be running, stopped or paused/,
  typeUnknown: /type must be "qemu" or "lxc"/,
  nodeMissing: /node must be a string/,
};

describe('bad input through the CLI', () => {
  let world: World;
  beforeEach(async () => {
    // missingPassesBeforeDelete 1 on purpose: a rejected entry counted as "missing" would delete at once.
    world = await new World({ config: { guards: { missingPassesBeforeDelete: 1, maxDeletesPerPass: 20, maxDeleteFraction: 1 } } }).start();
    world.addVm({ vmid: 100, name: 'web' });
    world.addVm({ vmid: 101, name: 'db' });
    world.bill(100, 5);
    world.bill(101, 6);
    expect((await world.cli('once')).code).toBe(0);
  });
  afterEach(async () => {
    await world.stop();
  });

  it.each(BAD_ENTRY_CASES)('a VM entry with %s is rejected with a clear line; the rest of the pass goes on', async (kind) => {
    world.bill(990001 + BAD_ENTRY_CASES.indexOf(kind), 7); // paid for, so accepting it would push it
    world.pve.faults.set({ kind: 'badEntries', cases: [kind], times: 1 });
    world.pve.inventory.update(101, { status: 'stopped' }); // a real change in the same pass
    const before = world.panel.stats().byAction;
    const r = await world.cli('once');
    // Rejected input is reported (the line below, status, vpssync_rejected_input and its alert), but
    // the pass did all it could with the rest: success, so one bad entry does not page VpsSyncStale.
    expect(r.code, r.stdout).toBe(0);
    const line = r.stdout.split('\n').find((l) => l.includes('rejected pve1:'));
    expect(line, r.stdout).toMatch(new RegExp(`rejected pve1: \\w+/${990001 + BAD_ENTRY_CASES.indexOf(kind)}: ${REASON[kind].source}`));
    expect(line!.length).toBeLessThan(300); // a 10 kB name is not echoed
    expect(line).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/); // nor control characters
    const after = world.panel.stats().byAction;
    expect({ create: (after.create ?? 0) - (before.create ?? 0), update: (after.update ?? 0) - (before.update ?? 0), delete: (after.delete ?? 0) - (before.delete ?? 0) }).toEqual({ create: 0, update: 1, delete: 0 });
    expect(world.panel.table().map((v) => [v.name, v.status])).toEqual([['web', 'running'], ['db', 'stopped']]);
  });

  it('a known VM whose entry turns bad (negative RAM, 10 kB name, control characters) is neither updated nor deleted while it stays bad', async () => {
    for (const patch of [{ maxmem: -1 }, { name: 'n'.repeat(10_240) }, { name: 'evil\u0000\u001b[31m' }, { maxcpu: 5000 }]) {
      world.pve.inventory.update(100, patch);
      for (let pass = 0; pass < 3; pass++) {
        const r = await world.cli('once');
        expect(r.code).toBe(0); // reported, not a failed pass (see above)
        expect(r.stdout).toMatch(/rejected pve1: qemu\/100: /);
      }
      expect(world.panel.table().map((v) => v.name)).toEqual(['web', 'db']);
      world.pve.inventory.update(100, { maxmem: 4 * GIB, name: 'web', maxcpu: 2 });
    }
    expect(world.panel.stats().byAction.delete ?? 0).toBe(0);
    expect(world.panel.stats().byAction.update ?? 0).toBe(0);
    expect((await world.cli('once')).code).toBe(0);
  });

  it.each([
    ['not JSON', { kind: 'badJson' }, /source pve1 unknown: .*(JSON|json)/],
    ['truncated', { kind: 'truncated' }, /source pve1 unknown: /],
    ['HTML instead of JSON', { kind: 'wrongContentType', contentType: 'text/html' }, /source pve1 unknown: .*text\/html/],
    ['HTTP 500', { kind: 'status500' }, /source pve1 unknown: .*500/],
  ] as const)('a listing that is %s makes the source unknown: nothing sent, nothing deleted, even for 3 passes', async (_name, fault, line) => {
    world.pve.inventory.update(101, { status: 'stopped' });
    world.pve.faults.set(fault);
    const requests = world.panel.stats().total;
    for (let pass = 0; pass < 3; pass++) {
      const r = await world.cli('once');
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(line);
    }
    expect(world.panel.stats().total).toBe(requests);
    expect(world.panel.table()).toHaveLength(2);
    world.pve.faults.clear();
    expect((await world.cli('once')).code).toBe(0);
    expect(world.panel.table().map((v) => [v.name, v.status])).toEqual([['web', 'running'], ['db', 'stopped']]);
  });

  it('a panel answer that is not JSON (a proxy error page) is retried, never taken for a created VPS', async () => {
    world.addVm({ vmid: 102, name: 'new' });
    world.bill(102, 7);
    world.panel.addFault({ mode: 'nonJson', action: 'create', times: 1 });
    const r = await world.cli('once');
    expect(r.code).toBe(1);
    expect((await world.cli('once')).code).toBe(0);
    expect(world.panel.table().filter((v) => v.name === 'new')).toHaveLength(1);
    const status = JSON.parse((await world.cli('status', '--json')).stdout) as { outbox: { ambiguous: number } };
    expect(status.outbox.ambiguous).toBe(0);
  });
});
