// A group commit that fails (disk full, a lock held past the busy timeout) ends the pass, but only
// once every call already sent has its answer: apply() returned at the failure while other calls
// were still on their way, so a shutdown then closed the store and the panel's connections under
// them (answered creates came back ambiguous), and a queued pass could take them for stranded.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runPass } from '../../src/engine/pass.js';
import type { Runtime } from '../../src/runtime.js';
import { raw } from '../store/helpers.js';
import { World } from '../support/world.js';

describe('a failed group commit', () => {
  let world: World;
  let runtime: Runtime;
  beforeEach(async () => {
    world = await new World().start(); // panel.concurrency 4
    runtime = world.runtime();
  });
  afterEach(async () => {
    await runtime.close();
    await world.stop();
  });

  it('ends the pass only after every call on its way has been answered and recorded', async () => {
    for (let vmid = 100; vmid < 106; vmid++) {
      world.addVm({ vmid, name: `vm-${vmid}` });
      world.bill(vmid, 5);
    }
    const { store } = runtime.deps;
    store.snapshot(); // opens the state file, so the trigger below lands in its schema
    // A real SQLite failure inside the transaction that journals the fifth call (the first four go
    // out together; the fifth is journaled when the first answer comes back).
    raw(world.statePath, (db) => db.exec("CREATE TRIGGER full_disk BEFORE INSERT ON outbox WHEN NEW.external_id IN ('104', '105') BEGIN SELECT RAISE(ABORT, 'database or disk is full (test trigger)'); END"));
    // Three of the first four creates are answered 300 ms after the panel made them.
    world.panel.addFault({ mode: 'slowMs', ms: 300, action: 'create', times: 3 });

    const report = await runPass(runtime.deps, {}, new AbortController().signal);

    expect(report.summary.result).toBe('failed');
    expect(report.summary.problems.join('\n')).toMatch(/database or disk is full \(test trigger\)/);
    expect(world.panel.table()).toHaveLength(4); // nothing sent after the failure
    // The slow three were answered and recorded before the pass ended; the fast one's answer rode
    // with the failed commit and is left in flight for the next pass to recover.
    const recorded = (): unknown => ({ snapshot: store.snapshot().map((e) => e.key).sort(), open: store.openOutbox().map((i) => [i.key, i.kind, i.state]) });
    const atEnd = recorded();
    expect(store.snapshot()).toHaveLength(3);
    expect(store.openOutbox().map((i) => [i.kind, i.state])).toEqual([['create', 'in_flight']]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(recorded()).toEqual(atEnd); // nothing was still on its way
  });
});
