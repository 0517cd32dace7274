// Issue 5, the process-level guarantees, with the real daemon as a child process: one writer per
// state file, a SIGKILL mid-create leaves an ambiguous item that `status` reports and `resolve`
// settles, a SIGKILL mid-delete is simply retried, and SIGTERM lets in-flight calls finish.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { World } from '../support/world.js';
import { runCliChild } from './harness/cli.js';
import { DaemonProc, freePort, requireBuiltCli } from './harness/daemon.js';
import { StateProbe } from './harness/state-probe.js';

const ADMIN = 'safety-admin-token-0123456789';
const LOCKED = /another ospab-vps-sync process \(run, once or resync --local\) is using .*state\.db; stop it first .*plan, status and resolve still work/;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

beforeAll(() => requireBuiltCli());

describe('the daemon as a process', () => {
  let world: World;
  let daemon: DaemonProc | null = null;
  let probe: StateProbe;

  /** A world whose daemon runs `run` with an HTTP port (schedule: every 10 s, so passes are ours to ask for). */
  async function setup(over: Record<string, unknown> = {}): Promise<void> {
    world = await new World().start();
    const port = await freePort();
    const base = world.configObject();
    world.writeConfig({ http: { listen: `127.0.0.1:${port}`, adminToken: ADMIN }, log: { level: 'info' }, panel: { ...(base.panel as object), timeoutMs: 5000, concurrency: 1 }, ...over });
    probe = new StateProbe(world.statePath);
    daemon = new DaemonProc(world.configPath, port, ADMIN);
  }
  const passesDone = (): number => probe.finishedAfter(0).length;
  async function nextPass(): Promise<void> {
    const n = passesDone();
    expect(await daemon!.requestPass()).toBe(true);
    await until('a pass', () => passesDone() > n);
  }

  afterEach(async () => {
    if (daemon?.running) await daemon.kill('SIGKILL');
    daemon = null;
    await world.stop();
  });

  describe('one writer per state file', () => {
    it('while `run` holds it, `once`, a second `run` and `resync --local` exit 75 with a clear message; plan, status and resolve still work', async () => {
      await setup();
      world.addVm({ vmid: 100, name: 'web' });
      world.bill(100, 5);
      await daemon!.start();
      await until('the first pass', () => passesDone() >= 1);

      for (const args of [['once'], ['run'], ['resync', '--local']]) {
        const r = await runCliChild(args, world.configPath);
        expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(75);
        expect(r.stderr).toMatch(LOCKED);
      }
      const plan = await runCliChild(['plan'], world.configPath);
      expect(plan.code).toBe(0);
      const status = await runCliChild(['status'], world.configPath);
      expect(status.code).toBe(0);
      expect(status.stdout).toMatch(/Panel VPSes known:\s+1/);
      // resolve is not locked out either (it writes one small transaction beside the daemon): it answers on the merits.
      const resolve = await runCliChild(['resolve', 'pve1/100', '--panel-id', '1'], world.configPath);
      expect(resolve.code).toBe(1);
      expect(resolve.stderr).toMatch(/pve1\/100 has no ambiguous create to adopt/);
      expect(daemon!.unexpectedExits).toEqual([]);
    });

    it('a second `once` while one is running exits 75; the lock is free again when it ends, and after a SIGKILL', async () => {
      await setup();
      world.addVm({ vmid: 100, name: 'web' });
      world.bill(100, 5);
      world.panel.addFault({ mode: 'slowMs', ms: 1500, action: 'create', times: 1 });
      const first = runCliChild(['once'], world.configPath);
      await until('the first once to send its create', () => (world.panel.stats().byAction.create ?? 0) >= 1);
      const second = await world.cli('once');
      expect(second.code).toBe(75);
      expect(second.stderr).toMatch(LOCKED);
      expect((await first).code).toBe(0);
      expect((await world.cli('once')).code).toBe(0);

      // A holder killed with SIGKILL leaves no stale lock behind.
      await daemon!.start();
      await daemon!.kill('SIGKILL');
      expect((await world.cli('once')).code).toBe(0);
      expect(world.panel.table()).toHaveLength(1);
    });
  });

  describe('SIGKILL in the middle of a create', () => {
    /** Starts the daemon, lets it send the create of VM 100, and kills it while the answer is pending. */
    async function killMidCreate(commit: 'before' | 'after'): Promise<void> {
      await setup();
      world.addVm({ vmid: 100, name: 'web' });
      world.bill(100, 5);
      world.panel.addFault({ mode: 'slowMs', ms: 3000, commit, action: 'create', times: 1 });
      await daemon!.start();
      await until('the create to be sent', () => (world.panel.stats().byAction.create ?? 0) >= 1);
      if (commit === 'before') await until('the panel to commit it', () => world.panel.table().length === 1);
      await sleep(100);
      await daemon!.kill('SIGKILL');
    }

    /** What systemd would do: start again. `once` recovers the same way `run` does (the in-flight create becomes ambiguous). */
    async function restartOnce(): Promise<void> {
      // Before any restart, status already shows the interrupted call.
      expect((await world.cli('status')).stdout).toMatch(/IN FLIGHT create pve1\/100 since .*: no daemon finished it/);
      const r = await world.cli('once');
      expect(r.code).toBe(1); // the create is held: waiting for resolve
      expect(r.stdout).toMatch(/1 create\(s\) were in flight when the last run stopped; they are now ambiguous/);
    }

    async function expectReported(): Promise<void> {
      const text = await world.cli('status');
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/AMBIGUOUS create pve1\/100 \(user 5, "web"\): the daemon stopped while this create was in flight/);
      // Not --forget: it would plan the VM afresh and create it again, a second VPS if the panel has one.
      expect(text.stdout).toMatch(/ospab-vps-sync resolve pve1\/100 --panel-id N \(it is there\) \| --recreate \(it is not\)$/m);
      const json = JSON.parse((await world.cli('status', '--json')).stdout) as { outbox: { ambiguous: number; ambiguousKeys: string[] } };
      expect(json.outbox).toMatchObject({ ambiguous: 1, ambiguousKeys: ['pve1/100'] });
    }

    it('leaves an ambiguous create that is never re-sent; `resolve --panel-id` (beside the running daemon) adopts the VPS', async () => {
      await killMidCreate('before');
      expect(world.panel.table()).toHaveLength(1);

      await daemon!.start();
      await until('a pass after the restart', () => probe.finishedAfter(0).length >= 1);
      expect(daemon!.output()).toMatch(/1 create\(s\) were in flight when the daemon last stopped; they are ambiguous and will not be re-sent/);
      await expectReported();
      for (let i = 0; i < 2; i++) await nextPass();
      expect(world.panel.stats().byAction.create).toBe(1);
      expect(world.panel.table()).toHaveLength(1);
      const plan = await world.cli('plan');
      expect(plan.stdout).toMatch(/ambiguous/);

      const r = await world.cli('resolve', 'pve1/100', '--panel-id', '1');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/adopted panel VPS #1/);
      world.pve.inventory.update(100, { status: 'stopped' });
      await nextPass();
      expect(world.panel.table().map((v) => [v.id, v.status])).toEqual([[1, 'stopped']]);
      expect(world.panel.stats().byAction.create).toBe(1);
      const json = JSON.parse((await world.cli('status', '--json')).stdout) as { outbox: { ambiguous: number; pending: number }; snapshot: { vps: number } };
      expect(json.outbox).toMatchObject({ ambiguous: 0, pending: 0 });
      expect(json.snapshot.vps).toBe(1);
    });

    it('`resolve --recreate` when the panel never got it: the next pass creates exactly one', async () => {
      await killMidCreate('after');
      expect(world.panel.table()).toHaveLength(0);
      await restartOnce();
      await expectReported();
      // Still held, and reported (status, drift `ambiguous`), but no longer this pass's failure.
      expect((await world.cli('once')).code).toBe(0);
      expect(world.panel.stats().byAction.create).toBe(1);

      expect((await world.cli('resolve', 'pve1/100', '--recreate')).code).toBe(0);
      expect((await world.cli('once')).code).toBe(0);
      expect(world.panel.table().map((v) => v.name)).toEqual(['web']);
      expect((await world.cli('once')).code).toBe(0);
      expect(world.panel.stats().byAction.create).toBe(2);
    });

    it('`resolve --forget` after the operator removed the VPS by hand: planned from scratch, one VPS', async () => {
      await killMidCreate('before');
      await restartOnce();
      await expectReported();
      const del = await fetch(`${world.panel.url}/api/vps/sync`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': (world.configObject().panel as { apiKey: string }).apiKey },
        body: JSON.stringify({ action: 'delete', vps: { id: 1 } }),
      });
      expect(del.status).toBeLessThan(300);
      const forgot = await world.cli('resolve', 'pve1/100', '--forget');
      expect(forgot.code).toBe(0);
      expect(forgot.stderr).toMatch(/^warning: pve1\/100 had an ambiguous create\. If its VM still runs and is billed, the next pass creates its VPS again: a second VPS if the panel has the first/);
      expect((await world.cli('once')).code).toBe(0);
      expect(world.panel.table().map((v) => [v.id, v.name])).toEqual([[2, 'web']]);
    });

    it('`resolve` refuses what it cannot settle', async () => {
      await killMidCreate('before');
      await restartOnce();
      const none = await world.cli('resolve', 'pve1/999', '--panel-id', '1');
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(/pve1\/999 has no ambiguous create to adopt/);
      expect((await world.cli('resolve', 'pve1/100')).code).toBe(64);
      expect((await world.cli('resolve', 'pve1/100', '--recreate', '--forget')).code).toBe(64);
      expect((await world.cli('resolve', 'pve1/100', '--panel-id', '-3')).code).toBe(64);
      await expectReported();
    });
  });

  it('SIGKILL in the middle of a delete: not ambiguous, the delete is retried after the restart', async () => {
    await setup({ guards: { missingPassesBeforeDelete: 1, maxDeletesPerPass: 20, maxDeleteFraction: 1 } });
    world.addVm({ vmid: 100, name: 'web' });
    world.addVm({ vmid: 101, name: 'db' });
    world.bill(100, 5);
    world.bill(101, 5);
    await daemon!.start();
    await until('the first pass', () => passesDone() >= 1 && world.panel.table().length === 2);
    world.pve.inventory.remove(100);
    world.panel.addFault({ mode: 'slowMs', ms: 3000, action: 'delete', times: 1 });
    await daemon!.requestPass();
    await until('the delete to be committed', () => world.panel.table().length === 1);
    await daemon!.kill('SIGKILL');

    await daemon!.start();
    await until('a pass after the restart', () => probe.read().open.length === 0, 10_000);
    expect(daemon!.output()).toMatch(/1 update\/delete call\(s\) were in flight when the daemon last stopped; they will be retried/);
    const json = JSON.parse((await world.cli('status', '--json')).stdout) as { outbox: { ambiguous: number; pending: number }; snapshot: { vps: number } };
    expect(json.outbox).toMatchObject({ ambiguous: 0, pending: 0 });
    expect(json.snapshot.vps).toBe(1);
    expect(world.panel.table().map((v) => v.name)).toEqual(['db']);
  });

  it('SIGTERM during a pass: the call in flight finishes and is recorded, no new one starts, exit 0', async () => {
    await setup();
    for (const vmid of [100, 101, 102]) {
      world.addVm({ vmid, name: `vm${vmid}` });
      world.bill(vmid, 5);
    }
    world.panel.addFault({ mode: 'slowMs', ms: 800, action: 'create', times: 3 });
    await daemon!.start();
    await until('the first create to be sent', () => (world.panel.stats().byAction.create ?? 0) >= 1);
    const started = Date.now();
    const exit = await daemon!.kill('SIGTERM');
    expect(exit.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(daemon!.output()).toMatch(/SIGTERM: stopping/);
    expect(daemon!.output()).toMatch(/stopped cleanly/);

    const { snapshot, open } = probe.read();
    expect(open.filter((i) => i.state === 'in_flight' || i.state === 'ambiguous')).toEqual([]);
    expect(world.panel.stats().byAction.create).toBe(1); // concurrency 1: nothing new after SIGTERM
    expect(snapshot.map((e) => e.panelId)).toEqual(world.panel.table().map((v) => v.id)); // the answer was recorded

    expect((await world.cli('once')).code).toBe(0);
    expect(world.panel.table().map((v) => v.name).sort()).toEqual(['vm100', 'vm101', 'vm102']);
    expect(world.panel.stats().byAction.create).toBe(3);
  });
});
