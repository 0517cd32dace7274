import { describe, expect, it } from 'vitest';
import { deleteBudget, guards, type GuardSettings } from '../../src/domain/guards.js';
import type { Action } from '../../src/domain/types.js';
import { entry } from '../support/domain-fixtures.js';

const DEFAULTS: GuardSettings = { missingPassesBeforeDelete: 3, maxDeletesPerPass: 20, maxDeleteFraction: 0.1 };

function snapshotOf(n: number, missing: number, source = 'pve1') {
  return Array.from({ length: n }, (_, i) => entry({ source, externalId: String(100 + i), panelId: i + 1, missingPasses: missing }));
}
function deletesFor(entries: ReturnType<typeof snapshotOf>): Action[] {
  return entries.map((e) => ({ kind: 'delete', key: e.key, panelId: e.panelId, reason: 'gone_from_hypervisor' }));
}

describe('guards()', () => {
  it.each([
    { name: 'missing for fewer passes than required → waits, not reported as held', n: 100, gone: 1, missing: 2, force: false, sent: 0, held: 0 },
    { name: 'missing for the required passes → deleted', n: 100, gone: 1, missing: 3, force: false, sent: 1, held: 0 },
    { name: 'fraction limit: 10% of 100 = 10 per pass', n: 100, gone: 30, missing: 3, force: false, sent: 10, held: 20 },
    { name: 'count limit: 20 per pass even when 10% allows 50', n: 500, gone: 100, missing: 3, force: false, sent: 20, held: 80 },
    { name: 'small source still converges one per pass', n: 3, gone: 3, missing: 3, force: false, sent: 1, held: 2 },
    { name: '--force lifts count and fraction limits', n: 100, gone: 30, missing: 3, force: true, sent: 30, held: 0 },
    { name: '--force never lifts the missing-pass rule', n: 100, gone: 30, missing: 1, force: true, sent: 0, held: 0 },
  ])('$name', (c) => {
    const snapshot = snapshotOf(c.n, 0);
    const goneEntries = snapshot.slice(0, c.gone);
    const missingPasses = new Map(goneEntries.map((e) => [e.key, c.missing]));
    const r = guards({
      actions: deletesFor(goneEntries),
      snapshot,
      missingPasses,
      listedCounts: new Map([['pve1', c.n - c.gone]]),
      settings: DEFAULTS,
      force: c.force,
    });
    expect(r.actions.filter((a) => a.kind === 'delete')).toHaveLength(c.sent);
    expect(r.held).toHaveLength(c.held);
    expect(r.drift.filter((d) => d.class === 'held_delete')).toHaveLength(c.held);
  });

  it('an empty listing of a big source deletes nothing on its first pass, and at most the budget later', () => {
    const snapshot = snapshotOf(1000, 0);
    const first = guards({ actions: deletesFor(snapshot), snapshot, missingPasses: new Map(snapshot.map((e) => [e.key, 1])), listedCounts: new Map([['pve1', 0]]), settings: DEFAULTS });
    expect(first.actions).toHaveLength(0);
    const third = guards({ actions: deletesFor(snapshot), snapshot, missingPasses: new Map(snapshot.map((e) => [e.key, 3])), listedCounts: new Map([['pve1', 0]]), settings: DEFAULTS });
    expect(third.actions).toHaveLength(20);
  });

  it('limits are per source', () => {
    const a = snapshotOf(10, 0, 'pve1');
    const b = snapshotOf(10, 0, 'pve2');
    const all = [...a, ...b];
    const r = guards({ actions: deletesFor(all), snapshot: all, missingPasses: new Map(all.map((e) => [e.key, 5])), listedCounts: new Map(), settings: DEFAULTS });
    expect(r.actions.map((x) => x.key)).toEqual(['pve1/100', 'pve2/100']);
  });

  it('a held owner-change delete holds its create too', () => {
    const snapshot = snapshotOf(10, 0);
    const actions: Action[] = snapshot.slice(0, 2).flatMap((e): Action[] => [
      { kind: 'delete', key: e.key, panelId: e.panelId, reason: 'owner_changed' },
      { kind: 'create', key: e.key, reason: 'owner_changed', desired: { key: e.key, source: e.source, externalId: e.externalId, owner: { userId: 9, billingId: 'x' }, fields: e.sent } },
    ]);
    const r = guards({ actions, snapshot, missingPasses: new Map(), listedCounts: new Map([['pve1', 10]]), settings: DEFAULTS });
    expect(r.actions.map((x) => `${x.kind} ${x.key}`)).toEqual(['delete pve1/100', 'create pve1/100']);
    expect(r.held.map((x) => x.key)).toEqual(['pve1/101']);
  });

  it.each([
    [0, 20, 0.1, 0],
    [100, 0, 0.1, 0],
    [100, 20, 0, 0],
    [5, 20, 0.1, 1],
    [1000, 20, 0.5, 20],
  ])('deleteBudget(size %i, max %i, fraction %f) = %i', (size, max, fraction, want) => {
    expect(deleteBudget({ missingPassesBeforeDelete: 3, maxDeletesPerPass: max, maxDeleteFraction: fraction }, size)).toBe(want);
  });
});
