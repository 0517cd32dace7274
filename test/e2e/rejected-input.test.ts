// Rejected input — a billing row or a hypervisor VM entry that fails validation — is reported (the
// pass's problems in `status` and `plan`, a warning per item, the vpssync_rejected_input gauge and
// VpsSyncRejectedInput), but does not by itself make a pass partial. It did: while one bad row
// existed every pass was partial, so the last-success time stood still, /readyz failed after 10
// minutes and VpsSyncStale paged "not syncing" for a daemon that synced everything else.
import { afterEach, describe, expect, it } from 'vitest';
import { Daemon } from '../../src/engine/daemon.js';
import { createSyncMetrics } from '../../src/metrics/index.js';
import type { Runtime } from '../../src/runtime.js';
import { createLogger } from '../../src/util/logger.js';
import { World } from '../support/world.js';

interface StatusJson {
  lastSuccessAt: string | null;
  lastPasses: { result: string; problems: string[] }[];
}

describe('rejected input', () => {
  let world: World;
  const runtimes: Runtime[] = [];
  afterEach(async () => {
    for (const r of runtimes.splice(0)) await r.close();
    await world?.stop();
  });

  const status = async (): Promise<StatusJson> => JSON.parse((await world.cli('status', '--json')).stdout) as StatusJson;
  /** Gives the VM's billing row a user id no user has (a broken import): the row is rejected. */
  const breakRow = (server: number): void => {
    world.billingSql('PRAGMA foreign_keys = OFF');
    world.billingSql(`UPDATE "server" SET "userId" = 0 WHERE "id" = ${server}`);
    world.billingSql('PRAGMA foreign_keys = ON');
  };
  const ROW = /rejected billing row \d+ \(billing_id \d+\): /;

  it('a rejected billing row is listed in every pass, which still succeed while everything else syncs; a source down still makes them partial', async () => {
    world = await new World({ extraProxmox: ['pve2'] }).start();
    world.addVm({ vmid: 100, name: 'web' });
    world.addVm({ vmid: 101, name: 'db' });
    world.bill(100, 5);
    const broken = world.bill(101, 6);
    expect((await world.cli('once')).code).toBe(0);
    breakRow(broken);

    let lastSuccess = (await status()).lastSuccessAt;
    for (let pass = 1; pass <= 3; pass++) {
      // Work that must still happen meanwhile.
      world.pve.inventory.update(100, { status: pass % 2 === 1 ? 'stopped' : 'running' });
      const r = await world.cli('once');
      expect(r.code, r.stdout).toBe(0);
      expect(r.stdout).toMatch(/pass \d+ success: 1\/1 sent ok/);
      expect(r.stdout).toMatch(ROW);
      const s = await status();
      expect(s.lastPasses[0]!.result).toBe('success');
      expect(s.lastPasses[0]!.problems).toEqual([expect.stringMatching(ROW)]);
      expect(s.lastSuccessAt).not.toBe(lastSuccess); // it moves: not stale
      lastSuccess = s.lastSuccessAt;
    }
    // The row's VPS is kept as it was (its owner is unknown, never "nobody"), and nothing was deleted.
    expect(world.panel.table().map((v) => [v.name, v.user_id])).toEqual([['web', 5], ['db', 6]]);
    expect(world.panel.stats().byAction.delete ?? 0).toBe(0);

    // Unrelated problems still count: a source down makes the pass partial, the row or not.
    world.pveOf('pve2').faults.set({ kind: 'status500' });
    const down = await world.cli('once');
    expect(down.code, down.stdout).toBe(1);
    const s = await status();
    expect(s.lastPasses[0]!.result).toBe('partial');
    expect(s.lastPasses[0]!.problems).toEqual([expect.stringMatching(/^source pve2 unknown: /), expect.stringMatching(ROW)]);
    expect(s.lastSuccessAt).toBe(lastSuccess);
    world.pveOf('pve2').faults.clear();
    expect((await world.cli('once')).code).toBe(0);
  });

  it('a rejected VM entry does not make passes partial, is never taken for gone, and billing down still does', async () => {
    world = await new World().start();
    world.addVm({ vmid: 100, name: 'web' });
    world.addVm({ vmid: 101, name: 'db' });
    world.bill(100, 5);
    world.bill(101, 6);
    expect((await world.cli('once')).code).toBe(0);
    world.pve.inventory.update(100, { maxmem: -1 }); // the entry fails validation from now on
    for (let pass = 1; pass <= 3; pass++) {
      const r = await world.cli('once');
      expect(r.code, r.stdout).toBe(0);
      expect(r.stdout).toMatch(/rejected pve1: qemu\/100: /);
    }
    expect(world.panel.table().map((v) => v.name)).toEqual(['web', 'db']);
    expect(world.panel.stats().byAction.delete ?? 0).toBe(0);
    expect((await status()).lastPasses.slice(0, 3).map((p) => p.result)).toEqual(['success', 'success', 'success']);

    world.billingSql('ALTER TABLE "server" RENAME TO "server_away"');
    const r = await world.cli('once');
    expect(r.code, r.stdout).toBe(1);
    expect((await status()).lastPasses[0]!.result).toBe('partial');
  });

  it('vpssync_rejected_input counts the items each input rejected, and a restarted daemon shows the last counts until its first pass', async () => {
    world = await new World().start();
    world.addVm({ vmid: 100, name: 'web' });
    world.addVm({ vmid: 101, name: 'db' });
    world.addVm({ vmid: 102, name: 'mail' });
    world.bill(100, 5);
    const broken = world.bill(101, 6);
    world.bill(102, 7);
    const daemonProcess = () => {
      const metrics = createSyncMetrics({ version: 'test', sources: ['pve1'], processMetrics: false });
      const runtime = world.runtime({ observer: metrics });
      runtimes.push(runtime);
      const daemon = new Daemon(runtime.deps, { schedule: '0 0 1 1 *', version: 'test', logger: createLogger({ level: 'silent', pretty: false }) });
      const gauge = async (): Promise<string[]> => (await metrics.registry.metrics()).split('\n').filter((l) => l.startsWith('vpssync_rejected_input{'));
      const pass = async (): Promise<void> => {
        daemon.requestPass({ full: false, reason: 'test' });
        await daemon.whenIdle();
      };
      return { daemon, gauge, pass };
    };

    const first = daemonProcess();
    // Pre-initialised: every input is there from the first scrape, at 0.
    expect(await first.gauge()).toEqual(['vpssync_rejected_input{input="billing"} 0', 'vpssync_rejected_input{input="source",source="pve1"} 0']);
    first.daemon.start();
    await first.daemon.whenIdle();
    expect(first.daemon.status().lastPasses[0]!.result).toBe('success');

    breakRow(broken);
    world.pve.inventory.update(102, { maxcpu: 5000 });
    await first.pass();
    expect(await first.gauge()).toEqual(['vpssync_rejected_input{input="billing"} 1', 'vpssync_rejected_input{input="source",source="pve1"} 1']);
    const before = first.daemon.lastSuccessAtMs()!;
    await new Promise((r) => setTimeout(r, 5));
    await first.pass();
    const s = first.daemon.status();
    expect(s.lastPasses.slice(0, 2).map((p) => p.result)).toEqual(['success', 'success']);
    expect(s.lastPasses[0]!.problems).toEqual([expect.stringMatching(/^rejected pve1: qemu\/102: /), expect.stringMatching(ROW)]);
    expect(first.daemon.lastSuccessAtMs()).toBeGreaterThan(before);

    // Billing down: its count is unknown, so it keeps the last one; the pass is partial.
    world.billingSql('ALTER TABLE "server" RENAME TO "server_away"');
    await first.pass();
    expect(first.daemon.status().lastPasses[0]!.result).toBe('partial');
    expect(await first.gauge()).toEqual(['vpssync_rejected_input{input="billing"} 1', 'vpssync_rejected_input{input="source",source="pve1"} 1']);
    await first.daemon.stop(1000);

    // A restart: the last counts until the new process has read the inputs again (its first pass
    // is slow to list), so VpsSyncRejectedInput's `for:` timer does not start over.
    world.pve.faults.set({ kind: 'slowMs', ms: 1500, times: 1 });
    const second = daemonProcess();
    second.daemon.start();
    expect(await second.gauge()).toEqual(['vpssync_rejected_input{input="billing"} 1', 'vpssync_rejected_input{input="source",source="pve1"} 1']);
    await second.daemon.whenIdle(); // billing still down: its count stays
    expect(await second.gauge()).toEqual(['vpssync_rejected_input{input="billing"} 1', 'vpssync_rejected_input{input="source",source="pve1"} 1']);

    // Both fixed: back to 0, passes successful.
    world.billingSql('ALTER TABLE "server_away" RENAME TO "server"');
    world.billingSql(`UPDATE "server" SET "userId" = 6 WHERE "id" = ${broken}`);
    world.pve.inventory.update(102, { maxcpu: 2 });
    await second.pass();
    expect(await second.gauge()).toEqual(['vpssync_rejected_input{input="billing"} 0', 'vpssync_rejected_input{input="source",source="pve1"} 0']);
    expect(second.daemon.status().lastPasses[0]).toMatchObject({ result: 'success', problems: [] });
    await second.daemon.stop(1000);
  });
});
