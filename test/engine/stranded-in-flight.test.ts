// A call whose answer could not be recorded (the group commit failed) stays in flight in the
// outbox. The next pass in the same process must not plan it again as if nothing had been sent.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runPass } from '../../src/engine/pass.js';
import type { Runtime } from '../../src/runtime.js';
import { World } from '../support/world.js';

describe('an in-flight item at the start of a pass', () => {
  let world: World;
  let runtime: Runtime;
  beforeEach(async () => {
    world = await new World().start();
    runtime = world.runtime();
  });
  afterEach(async () => {
    await runtime.close();
    await world.stop();
  });

  it('a create is not sent again: it becomes ambiguous (the panel may have made it)', async () => {
    world.addVm({ vmid: 100, name: 'web-01' });
    world.bill(100, 5);
    const { store } = runtime.deps;
    // What a failed group commit leaves behind: the journal committed, the answer never recorded.
    store.journal({ kind: 'create', key: 'pve1/100', reason: 'missing_on_panel', desired: { key: 'pve1/100', source: 'pve1', externalId: '100', owner: { userId: 5, billingId: '1' }, fields: { user_id: 5, name: 'web-01', cpu: 2, ram: 4096, disk: 32, os: 'Ubuntu 22.04 LTS', status: 'running', hypervisor: 'proxmox' } } }, null, Date.now());

    const report = await runPass(runtime.deps, {}, new AbortController().signal);

    expect(world.panel.stats().byAction.create ?? 0).toBe(0);
    expect(store.openOutbox().map((i) => [i.key, i.kind, i.state, i.lastError])).toEqual([['pve1/100', 'create', 'ambiguous', 'the answer to this create could not be recorded']]);
    expect(report.summary.drift.ambiguous).toBe(1);
    // News for a person: this pass is not a success (the next one is; the item is then drift).
    expect(report.summary.result).toBe('partial');
    expect(report.summary.problems).toEqual([expect.stringMatching(/^1 create\(s\) were answered but their outcome could not be recorded/)]);
    expect((await runPass(runtime.deps, {}, new AbortController().signal)).summary.result).toBe('success');
  });

  it('an update is sent again (updates are idempotent)', async () => {
    world.addVm({ vmid: 100, name: 'web-01' });
    world.bill(100, 5);
    expect((await runPass(runtime.deps, {}, new AbortController().signal)).summary.result).toBe('success');
    const [vps] = world.panel.table();
    world.pve.inventory.update(100, { status: 'stopped' });
    const { store } = runtime.deps;
    const [entry] = store.snapshot();
    store.journal({ kind: 'update', key: 'pve1/100', panelId: vps!.id, changed: ['status'], ownerConfirmed: true, reason: 'stale_on_panel', desired: { key: 'pve1/100', source: 'pve1', externalId: '100', owner: entry!.owner, fields: { ...entry!.sent, status: 'stopped' } } } as never, null, Date.now());

    const report = await runPass(runtime.deps, {}, new AbortController().signal);

    expect(report.summary.result).toBe('success');
    expect(world.panel.table()).toMatchObject([{ id: vps!.id, status: 'stopped' }]);
    expect(store.openOutbox()).toEqual([]);
  });
});
