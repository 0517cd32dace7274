// Daemon bugs the chaos suite found, each pinned down deterministically through the real CLI.
import { afterEach, describe, expect, it } from 'vitest';
import { desired } from '../../src/domain/desired.js';
import { gate, mootItems, unconfirmedDeletes, unconfirmedUpdates } from '../../src/domain/gate.js';
import { plan } from '../../src/domain/plan.js';
import type { Action, OutboxItem } from '../../src/domain/types.js';
import { billing, entry, fields as panelFields, listed, row, vm } from '../support/domain-fixtures.js';
import { API_KEY, World } from '../support/world.js';

const fields = (w: World) => w.panel.table().map(({ id, user_id, name, status }) => ({ id, user_id, name, status }));

describe('regressions found by the chaos suite', () => {
  let world: World;
  afterEach(async () => {
    await world.stop();
  });

  // The delete reached the panel but its answer was lost; the VM then came back unchanged (restored
  // from backup, migrated back). "A VM that reappears cancels its pending delete" forgot that this
  // delete had already been sent: the snapshot still claimed the VPS, the panel no longer had it, and
  // nothing was ever sent again — the customer's VPS was lost for good.
  for (const unknownId of ['404', '200'] as const) {
    it(`a VM that comes back while the delete of its VPS is unconfirmed gets its VPS back (unknown id → ${unknownId})`, async () => {
      world = await new World().start();
      world.panel.configure({ unknownId });
      world.addVm({ vmid: 100, name: 'web' });
      world.bill(100, 5);
      expect((await world.cli('once')).code).toBe(0);

      world.pve.inventory.remove(100);
      world.panel.addFault({ mode: 'resetAfterCommit', action: 'delete', times: 1 });
      expect((await world.cli('once')).code).toBe(1);
      expect(world.panel.table()).toEqual([]);

      world.addVm({ vmid: 100, name: 'web' });
      await world.cli('once');
      await world.cli('once');
      expect(fields(world)).toEqual([{ id: 2, user_id: 5, name: 'web', status: 'running' }]);
      const status = JSON.parse((await world.cli('status', '--json')).stdout) as { outbox: { pending: number; failed: number; ambiguous: number } };
      expect(status.outbox).toEqual({ pending: 0, failed: 0, ambiguous: 0, ambiguousKeys: [] });
      const before = world.panel.stats().total;
      expect((await world.cli('once')).code).toBe(0);
      expect(world.panel.stats().total).toBe(before);
    });
  }

  it('a VM back while its delete is unconfirmed, and that delete never reached the panel: the VPS is replaced, never doubled', async () => {
    world = await new World().start();
    world.addVm({ vmid: 100, name: 'web' });
    world.bill(100, 5);
    await world.cli('once');
    world.pve.inventory.remove(100);
    world.panel.addFault({ mode: 'resetBeforeCommit', action: 'delete', times: 1 });
    expect((await world.cli('once')).code).toBe(1);
    expect(world.panel.table()).toHaveLength(1);

    world.addVm({ vmid: 100, name: 'web' });
    await world.cli('once');
    await world.cli('once');
    expect(fields(world)).toEqual([{ id: 2, user_id: 5, name: 'web', status: 'running' }]);
  });

  // The same for updates: a suspension reached the panel but its answer was lost; billing lifted it
  // before the retry. The snapshot still said "running" (the suspension was never confirmed), so
  // nothing was planned and the panel showed a paying customer's VPS as suspended for good.
  it('an update that may have reached the panel is sent again even when the VM is back to what the snapshot says', async () => {
    world = await new World().start();
    world.addVm({ vmid: 100, name: 'web' });
    const server = world.bill(100, 5);
    await world.cli('once');
    world.billingSql(`UPDATE "server" SET "status" = 'suspended' WHERE "id" = ${server}`);
    world.panel.addFault({ mode: 'commitThenFail', action: 'update', times: 1 });
    expect((await world.cli('once')).code).toBe(1);
    expect(fields(world)).toEqual([{ id: 1, user_id: 5, name: 'web', status: 'suspended' }]);

    world.billingSql(`UPDATE "server" SET "status" = 'active' WHERE "id" = ${server}`);
    const plan = await world.cli('plan');
    expect(plan.code).toBe(2);
    expect(plan.stdout).toMatch(/update pve1\/100 .*#1: status → running/);
    expect((await world.cli('once')).code).toBe(0);
    expect(fields(world)).toEqual([{ id: 1, user_id: 5, name: 'web', status: 'running' }]);
    const before = world.panel.stats().total;
    expect((await world.cli('once')).code).toBe(0);
    expect(world.panel.stats().total).toBe(before);
  });

  // Found while modelling billing faults for the chaos suite: a suspension reached the panel but its
  // answer was lost, then billing could not say who owns the VM (unreadable, or its row rejected).
  // The owner-unknown refresh started from the last *confirmed* fields ("running") and the
  // unconfirmed update was "repeated" with them: the pass lifted the suspension while billing was
  // silent, against "never lift a suspension we cannot re-confirm".
  for (const fault of ['billing is unreadable', 'the billing row is rejected'] as const) {
    it(`a suspension whose answer was lost stays while ${fault}`, async () => {
      world = await new World().start();
      world.panel.recordHistory();
      world.addVm({ vmid: 100, name: 'web' });
      const server = world.bill(100, 5);
      expect((await world.cli('once')).code).toBe(0);
      world.billingSql(`UPDATE "server" SET "status" = 'suspended' WHERE "id" = ${server}`);
      world.panel.addFault({ mode: 'commitThenFail', action: 'update', times: 1 });
      expect((await world.cli('once')).code).toBe(1);
      expect(fields(world)).toEqual([{ id: 1, user_id: 5, name: 'web', status: 'suspended' }]);

      if (fault === 'billing is unreadable') {
        world.billingSql('ALTER TABLE "server" RENAME TO "server_away"');
      } else {
        world.billingSql('PRAGMA foreign_keys = OFF');
        world.billingSql(`UPDATE "server" SET "userId" = 0 WHERE "id" = ${server}`);
      }
      await world.cli('once');
      await world.cli('once');
      expect(fields(world)).toEqual([{ id: 1, user_id: 5, name: 'web', status: 'suspended' }]);
      expect(world.panel.history().filter((e) => e.change === 'update').map((e) => e.row.status)).toEqual(['suspended', 'suspended']);

      // Billing answers again and still says suspended: nothing more to send.
      if (fault === 'billing is unreadable') world.billingSql('ALTER TABLE "server_away" RENAME TO "server"');
      else world.billingSql(`UPDATE "server" SET "userId" = 5 WHERE "id" = ${server}`);
      expect((await world.cli('once')).code).toBe(0);
      const before = world.panel.stats().total;
      expect((await world.cli('once')).code).toBe(0);
      expect(world.panel.stats().total).toBe(before);
      expect(fields(world)).toEqual([{ id: 1, user_id: 5, name: 'web', status: 'suspended' }]);
    });
  }

  // Failed calls that nothing will send again stayed open: `status` showed them as pending (and the
  // outbox gauge stayed above 0) for good.
  it('a failed update of a VPS that is then deleted, and a failed create of a VM that is then removed, do not stay pending', async () => {
    world = await new World().start();
    world.addVm({ vmid: 100, name: 'web' });
    world.bill(100, 5);
    world.bill(101, 6);
    await world.cli('once');
    world.pve.inventory.update(100, { status: 'stopped' });
    world.addVm({ vmid: 101, name: 'db' });
    world.panel.addFault({ mode: 'status5xx', code: 503, times: 2 });
    expect((await world.cli('once')).code).toBe(1);
    const pending = JSON.parse((await world.cli('status', '--json')).stdout) as { outbox: { pending: number } };
    expect(pending.outbox.pending).toBe(2);

    world.pve.inventory.remove(100);
    world.pve.inventory.remove(101);
    expect((await world.cli('once')).code).toBe(0); // missingPassesBeforeDelete 1 in the world's config
    expect(world.panel.table()).toEqual([]);
    const status = JSON.parse((await world.cli('status', '--json')).stdout) as { outbox: { pending: number; failed: number; ambiguous: number } };
    expect(status.outbox).toEqual({ pending: 0, failed: 0, ambiguous: 0, ambiguousKeys: [] });
    expect((await world.cli('status')).stdout).not.toMatch(/failed (update|create)/);
  });

  // The panel handed out an id again (its database restored from an empty backup: ids restart at 1).
  // The create for a new VM came back with the id alice's VPS had had; both VMs then claimed VPS #1,
  // and alice's next update rewrote bob's new VPS with her name and user id.
  it("a create answered with an id another VM held never lets that VM change the new VPS; its VPS is created again", async () => {
    world = await new World({ config: { log: { level: 'warn' } } }).start();
    world.addVm({ vmid: 100, name: 'alice-vm' });
    world.bill(100, 5);
    expect((await world.cli('once')).code).toBe(0);

    world.panel.reset();
    world.addVm({ vmid: 101, name: 'bob-vm' });
    world.bill(101, 6);
    const second = await world.cli('once');
    expect(second.code).toBe(0);
    expect(second.stderr + second.stdout).toMatch(/the panel created pve1\/101 as VPS #1, an id it had given pve1\/100/);
    world.pve.inventory.update(100, { status: 'stopped' });
    expect((await world.cli('once')).code).toBe(0);

    expect(fields(world)).toEqual([
      { id: 1, user_id: 6, name: 'bob-vm', status: 'running' },
      { id: 2, user_id: 5, name: 'alice-vm', status: 'stopped' },
    ]);
    expect(world.panel.stats().byAction.update ?? 0).toBe(0);
  });

  // The same reuse within one pass (found by an audit helper): alice's update 404s (the panel's
  // database restored from an empty backup), her VPS is created again and answered with #1 — the id
  // the state file held for bob — and bob's update, planned before, was still sent to #1 later in
  // that pass: alice's new VPS showed bob's customer and name, and the daemon believed it hers.
  it('an update planned for a panel id the panel gave to another VM earlier in the same pass is not sent', async () => {
    world = await new World({ config: { log: { level: 'warn' } } }).start();
    world.writeConfig({ panel: { url: world.panel.url, apiKey: API_KEY, timeoutMs: 2000, concurrency: 1 } });
    world.addVm({ vmid: 101, name: 'bob-vm' });
    world.bill(101, 6);
    expect((await world.cli('once')).code).toBe(0); // bob: #1
    world.addVm({ vmid: 100, name: 'alice-vm' });
    world.bill(100, 5);
    expect((await world.cli('once')).code).toBe(0); // alice: #2

    world.panel.reset();
    world.pve.inventory.update(100, { status: 'stopped' });
    world.pve.inventory.update(101, { status: 'stopped' });
    const pass = await world.cli('once');
    expect(pass.stderr + pass.stdout).toMatch(/the panel created pve1\/100 as VPS #1, an id it had given pve1\/101/);
    expect(fields(world)).toEqual([{ id: 1, user_id: 5, name: 'alice-vm', status: 'stopped' }]);
    expect((await world.cli('once')).code).toBe(0); // bob's VPS created again
    expect(fields(world)).toEqual([
      { id: 1, user_id: 5, name: 'alice-vm', status: 'stopped' },
      { id: 2, user_id: 6, name: 'bob-vm', status: 'stopped' },
    ]);
  });

  // And with bob's call already on its way when the create is answered: the panel applies it after
  // the create, to alice's new VPS. Her fields are sent again the next pass; a delete that removed
  // her VPS shows as a 404 there, and the VPS is created again.
  for (const call of ['update', 'delete'] as const) {
    it(`${call === 'update' ? 'an' : 'a'} ${call} on its way to a panel id the panel then gives to another VM's new VPS: that VPS is put right the next pass`, async () => {
      world = await new World({ config: { log: { level: 'warn' } } }).start();
      world.addVm({ vmid: 101, name: 'bob-vm' });
      world.bill(101, 6);
      expect((await world.cli('once')).code).toBe(0); // bob: #1

      world.panel.reset();
      if (call === 'update') world.pve.inventory.update(101, { status: 'stopped' });
      else world.pve.inventory.remove(101);
      world.addVm({ vmid: 100, name: 'alice-vm' });
      world.bill(100, 5);
      // Bob's call is committed 300 ms after it arrives: long after alice's create got #1.
      world.panel.addFault({ mode: 'slowMs', ms: 300, commit: 'after', action: call, times: 1 });
      const pass = await world.cli('once');
      expect(pass.stderr + pass.stdout).toMatch(new RegExp(`the panel created pve1/100 as VPS #1, an id it had given pve1/101.*the ${call} of pve1/101 to #1 was on its way`, 's'));
      expect(world.panel.table().filter((v) => v.user_id === 5 && v.name === 'alice-vm')).toHaveLength(0); // what bob's call did to #1

      await world.cli('once');
      await world.cli('once');
      const alice = { user_id: 5, name: 'alice-vm', status: 'running' };
      const bob = { user_id: 6, name: 'bob-vm', status: 'stopped' };
      expect(fields(world).map(({ id: _id, ...rest }) => rest)).toEqual(call === 'update' ? [alice, bob] : [alice]);
      const status = JSON.parse((await world.cli('status', '--json')).stdout) as { outbox: { pending: number; failed: number; ambiguous: number } };
      expect(status.outbox).toMatchObject({ pending: 0, failed: 0, ambiguous: 0 });
    });
  }

  // An action held for a person (a payload the panel rejected, an ambiguous create) made every later
  // pass `partial`, with no problem named: /readyz failed and VpsSyncStale paged for one VM, and the
  // ambiguous VM counted twice, as `ambiguous` and as `missing_on_panel` (VpsSyncDrift).
  it('a rejected payload or an ambiguous create fails the pass that met it, not every later one', async () => {
    world = await new World({ knownUserIds: [5, 6] }).start();
    world.addVm({ vmid: 100, name: 'web' });
    world.bill(100, 9); // a customer the panel does not know yet: 400
    const rejected = await world.cli('once');
    expect(rejected.code).toBe(1);
    expect(rejected.stdout).toMatch(/partial: 0\/1 sent ok, 1 failed/);
    const after = await world.cli('once');
    expect(after.code, after.stdout).toBe(0);
    expect(after.stdout).toMatch(/pass \d+ success: 0\/0 sent ok/);

    world.addVm({ vmid: 101, name: 'db' });
    world.bill(101, 6);
    world.panel.addFault({ mode: 'commitThenFail', action: 'create', times: 1 });
    expect((await world.cli('once')).stdout).toMatch(/partial: 0\/1 sent ok, 0 failed, 1 ambiguous/);
    expect((await world.cli('once')).code).toBe(0);

    const plan = JSON.parse((await world.cli('plan', '--json')).stdout) as { driftCounts: Record<string, number> };
    expect(plan.driftCounts).toMatchObject({ ambiguous: 1, missing_on_panel: 1 }); // 101 ambiguous only; 100 missing (rejected)
    const status = JSON.parse((await world.cli('status', '--json')).stdout) as { lastPasses: { result: string; problems: string[] }[] };
    expect(status.lastPasses.map((p) => p.result)).toEqual(['success', 'partial', 'success', 'partial']);
  });

  // A guest without a disk (network boot) was sent with disk 0, which the panel refuses: its customer
  // never saw the VPS, and the payload, never re-sent, kept every later pass from succeeding.
  it('a diskless guest gets a VPS with the least disk the panel takes, and the pass succeeds', async () => {
    world = await new World().start();
    world.addVm({ vmid: 100, name: 'pxe', maxdisk: 0, maxmem: 256 * 1024 });
    world.bill(100, 5);
    const r = await world.cli('once');
    expect(r.code, r.stdout).toBe(0);
    expect(world.panel.table().map(({ name, disk, ram }) => ({ name, disk, ram }))).toEqual([{ name: 'pxe', disk: 1, ram: 1 }]);
    expect((await world.cli('plan')).code).toBe(0); // and it stays in sync: no update of 1 vs 0 every pass
  });

  // `resolve --panel-id` took any id: a typo naming another VM's VPS silently dropped that VM's
  // entry (so its VPS was created again) and handed the VPS to the wrong customer.
  it("resolve --panel-id refuses an id the state file has for another VM, naming it", async () => {
    world = await new World().start();
    world.addVm({ vmid: 100, name: 'web' });
    world.bill(100, 5);
    expect((await world.cli('once')).code).toBe(0);
    world.addVm({ vmid: 101, name: 'db' });
    world.bill(101, 6);
    world.panel.addFault({ mode: 'commitThenFail', action: 'create', times: 1 });
    await world.cli('once'); // 101's create: ambiguous (it reached the panel as #2)

    const typo = await world.cli('resolve', 'pve1/101', '--panel-id', '1');
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/panel VPS #1 is the one the state file has for pve1\/100: adopting it for pve1\/101 would give one customer's VPS to another/);
    expect((await world.cli('resolve', 'pve1/101', '--panel-id', '2')).code).toBe(0);
    expect((await world.cli('once')).code).toBe(0);
    expect(fields(world)).toEqual([
      { id: 1, user_id: 5, name: 'web', status: 'running' },
      { id: 2, user_id: 6, name: 'db', status: 'running' },
    ]);
  });

  // An owner change is "delete the old customer's VPS, then create the new one". When the delete had
  // failed and was backing off, the gate skipped the delete but still sent the create: the new VPS
  // replaced the old one in the snapshot, and the old customer's VPS stayed on the panel for good.
  it("an owner change whose delete is backing off creates nothing until the old customer's VPS is gone", async () => {
    world = await new World({ config: { retry: { baseDelayMs: 60_000, maxDelayMs: 60_000, breakerThreshold: 50, breakerCooldownMs: 1 } } }).start();
    world.addVm({ vmid: 100, name: 'web' });
    const server = world.bill(100, 5);
    await world.cli('once');
    world.billingSql(`UPDATE "server" SET "userId" = 6 WHERE "id" = ${server}`);

    world.panel.addFault({ mode: 'status5xx', code: 503, action: 'delete', times: 1 });
    expect((await world.cli('once')).code).toBe(1);
    expect((await world.cli('once')).code).toBe(1); // the delete backs off; the create must wait for it
    expect(fields(world)).toEqual([{ id: 1, user_id: 5, name: 'web', status: 'running' }]);
    expect(world.panel.stats().byAction.create).toBe(1);

    // A full resync ignores the backoff: the delete goes first, then the create.
    expect((await world.cli('once', '--full')).code).toBe(0);
    expect(fields(world)).toEqual([{ id: 2, user_id: 6, name: 'web', status: 'running' }]);
  });
});

describe('the pure core behind those fixes', () => {
  const NOW = 1_000_000;
  const outbox = (over: Partial<OutboxItem>): OutboxItem => ({
    id: 1, key: 'pve1/100', kind: 'delete', panelId: 3, fields: null, owner: null, state: 'failed', failure: 'retryable',
    attempts: 1, nextAttemptAt: null, lastError: 'ambiguous: panel delete: no answer after sending', createdAt: 0, updatedAt: 0, ...over,
  });

  it('unconfirmedDeletes(): failed-retryable and in-flight deletes only', () => {
    const open = [
      outbox({ key: 'pve1/100' }),
      outbox({ key: 'pve1/101', state: 'in_flight', failure: null }),
      outbox({ key: 'pve1/102', failure: 'rejected' }),
      outbox({ key: 'pve1/103', kind: 'update' }),
      outbox({ key: 'pve1/104', state: 'ambiguous', kind: 'create', panelId: null }),
    ];
    expect([...unconfirmedDeletes(open)]).toEqual([['pve1/100', 3], ['pve1/101', 3]]);
  });

  it('plan(): a VM back while the delete of its VPS is unconfirmed → finish the delete, no update', () => {
    const state = desired({ sources: [{ name: 'pve1', kind: 'proxmox' }], listings: [listed('pve1', [vm({ externalId: '100', cpu: 4 })])], billing: billing([row({ vmId: '100', userId: 7 })]) });
    const snapshot = [entry({ externalId: '100', panelId: 3, missingPasses: 3 })];
    const p = plan({ state, snapshot, unconfirmedDeletes: new Map([['pve1/100', 3]]) });
    expect(p.actions).toEqual([{ kind: 'delete', key: 'pve1/100', panelId: 3, reason: 'ambiguous' }]);
    expect(p.missingPasses.get('pve1/100')).toBe(0);
    // Without it, the same pass cancels the delete and only refreshes the fields.
    expect(plan({ state, snapshot }).actions.map((a) => a.kind)).toEqual(['update']);
  });

  it('plan(): an unconfirmed delete of another panel id, or with billing down, changes nothing', () => {
    const state = desired({ sources: [{ name: 'pve1', kind: 'proxmox' }], listings: [listed('pve1', [vm({ externalId: '100' })])], billing: billing([row({ vmId: '100', userId: 7 })]) });
    const snapshot = [entry({ externalId: '100', panelId: 3, sent: panelFields({ name: 'vm100', os: 'Ubuntu 22.04' }) })];
    expect(plan({ state, snapshot, unconfirmedDeletes: new Map([['pve1/100', 9]]) }).actions).toEqual([]);
  });

  it('unconfirmedUpdates(): failed-retryable and in-flight updates, with the fields they carried', () => {
    const open = [
      outbox({ key: 'pve1/100', kind: 'update', fields: panelFields({ status: 'stopped' }) }),
      outbox({ key: 'pve1/101', kind: 'update', failure: 'rejected', fields: panelFields() }),
      outbox({ key: 'pve1/102' }),
    ];
    expect([...unconfirmedUpdates(open)]).toEqual([['pve1/100', { panelId: 3, fields: panelFields({ status: 'stopped' }), owner: null }]]);
  });

  it('plan(): with an unconfirmed update of the same VPS, the current fields are sent even when the snapshot agrees', () => {
    const state = desired({ sources: [{ name: 'pve1', kind: 'proxmox' }], listings: [listed('pve1', [vm({ externalId: '100' })])], billing: billing([row({ vmId: '100', userId: 7 })]) });
    const snapshot = [entry({ externalId: '100', panelId: 3, sent: panelFields({ name: 'vm100', os: 'Ubuntu 22.04' }) })];
    expect(plan({ state, snapshot }).actions).toEqual([]);
    const doubt = new Map([['pve1/100' as const, { panelId: 3, fields: panelFields({ name: 'vm100', os: 'Ubuntu 22.04', status: 'suspended' }) }]]);
    const p = plan({ state, snapshot, unconfirmedUpdates: doubt });
    expect(p.actions).toMatchObject([{ kind: 'update', panelId: 3, changed: ['status'] }]);
    expect(p.drift[0]?.detail).toMatch(/status suspended → running \(an earlier update may have reached the panel\)/);
    // An unconfirmed update of a VPS the snapshot no longer has changes nothing.
    expect(plan({ state, snapshot, unconfirmedUpdates: new Map([['pve1/100', { panelId: 9, fields: panelFields() }]]) }).actions).toEqual([]);
  });

  it('mootItems(): updates of VPSes no longer in the snapshot, creates no longer planned where the pass saw everything', () => {
    const snapshot = [entry({ externalId: '100', panelId: 3 })];
    const create: Action = { kind: 'create', key: 'pve1/104', reason: 'missing_on_panel', desired: { key: 'pve1/104', source: 'pve1', externalId: '104', owner: { userId: 7, billingId: 'b' }, fields: panelFields() } };
    const open = [
      outbox({ id: 1, key: 'pve1/100', kind: 'update', fields: panelFields() }), // its VPS is still there: kept
      outbox({ id: 2, key: 'pve1/101', kind: 'update', fields: panelFields() }), // VPS #3 of pve1/101 is gone: moot
      outbox({ id: 3, key: 'pve1/102', kind: 'create', panelId: null, fields: panelFields() }), // not planned, seen: moot
      outbox({ id: 4, key: 'pve2/103', kind: 'create', panelId: null, fields: panelFields() }), // its source was not seen: kept
      outbox({ id: 5, key: 'pve1/104', kind: 'create', panelId: null, fields: panelFields() }), // still planned: kept
      outbox({ id: 6, key: 'pve1/105', kind: 'create', panelId: null, state: 'ambiguous', failure: null }), // never moot
      outbox({ id: 7, key: 'pve1/106' }), // deletes are never moot
    ];
    const moot = mootItems({ open, snapshot, planned: [create], settled: (key) => key.startsWith('pve1/') });
    expect(moot.map((i) => i.id)).toEqual([2, 3]);
  });

  it("gate(): once a VM's action is held back, its later actions are too", () => {
    const desiredVps = { key: 'pve1/100' as const, source: 'pve1', externalId: '100', owner: { userId: 8, billingId: 'b2' }, fields: panelFields({ user_id: 8 }) };
    const actions: Action[] = [
      { kind: 'delete', key: 'pve1/100', panelId: 3, reason: 'owner_changed' },
      { kind: 'create', key: 'pve1/100', desired: desiredVps, reason: 'owner_changed' },
      { kind: 'create', key: 'pve1/101', desired: { ...desiredVps, key: 'pve1/101', externalId: '101' }, reason: 'missing_on_panel' },
    ];
    const r = gate({ actions, open: [outbox({ nextAttemptAt: NOW + 1 })], now: NOW });
    expect(r.send.map((a) => `${a.kind} ${a.key}`)).toEqual(['create pve1/101']);
    expect(r.skipped.map((s) => `${s.action.kind} ${s.action.key}: ${s.why.split(' ').slice(0, 3).join(' ')}`)).toEqual([
      'delete pve1/100: backing off after',
      'create pve1/100: waiting for the',
    ]);
  });
});
