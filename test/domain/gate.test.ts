import { describe, expect, it } from 'vitest';
import { backoffDelay, gate } from '../../src/domain/gate.js';
import type { Action, OutboxItem } from '../../src/domain/types.js';
import { fields } from '../support/domain-fixtures.js';

const NOW = 1_000_000;
const create: Action = { kind: 'create', key: 'pve1/100', reason: 'missing_on_panel', desired: { key: 'pve1/100', source: 'pve1', externalId: '100', owner: { userId: 7, billingId: 'b' }, fields: fields() } };
const update: Action = { kind: 'update', key: 'pve1/100', panelId: 3, changed: ['status'], ownerConfirmed: true, desired: create.desired };

function item(over: Partial<OutboxItem>): OutboxItem {
  return { id: 1, key: 'pve1/100', kind: 'create', panelId: null, fields: fields(), owner: { userId: 7, billingId: 'b' }, state: 'failed', failure: 'retryable', attempts: 1, nextAttemptAt: null, lastError: 'x', createdAt: 0, updatedAt: 0, ...over };
}

const MAX_BACKOFF = 3_600_000;

describe('gate()', () => {
  it.each([
    { name: 'nothing open → sent', open: [], action: create, full: false, sent: true, waitsFor: null },
    { name: 'ambiguous create → never re-sent', open: [item({ state: 'ambiguous', failure: null })], action: create, full: false, sent: false, waitsFor: 'operator' },
    { name: 'ambiguous create → not even on full resync', open: [item({ state: 'ambiguous', failure: null })], action: create, full: true, sent: false, waitsFor: 'operator' },
    { name: 'retryable, backoff not elapsed → skipped', open: [item({ nextAttemptAt: NOW + 1 })], action: create, full: false, sent: false, waitsFor: 'retry' },
    { name: 'retryable, backoff elapsed → sent', open: [item({ nextAttemptAt: NOW })], action: create, full: false, sent: true, waitsFor: null },
    { name: 'retryable, full resync ignores backoff', open: [item({ nextAttemptAt: NOW + 1 })], action: create, full: true, sent: true, waitsFor: null },
    { name: 'retryable, backoff at the longest there is → skipped', open: [item({ nextAttemptAt: NOW + MAX_BACKOFF })], action: create, full: false, sent: false, waitsFor: 'retry' },
    { name: 'retryable, backoff longer than any (the clock was set back) → sent', open: [item({ nextAttemptAt: NOW + MAX_BACKOFF + 1 })], action: create, full: false, sent: true, waitsFor: null },
    { name: 'rejected with the same payload → skipped', open: [item({ failure: 'rejected' })], action: create, full: false, sent: false, waitsFor: 'operator' },
    { name: 'rejected, payload changed since → sent', open: [item({ failure: 'rejected', fields: fields({ cpu: 1 }) })], action: create, full: false, sent: true, waitsFor: null },
    { name: 'a failed create does not hold back an update', open: [item({ nextAttemptAt: NOW + 1 })], action: update, full: false, sent: true, waitsFor: null },
  ])('$name', (c) => {
    const r = gate({ actions: [c.action], open: c.open, now: NOW, maxBackoffMs: MAX_BACKOFF, full: c.full });
    expect(r.send.length).toBe(c.sent ? 1 : 0);
    expect(r.skipped.length).toBe(c.sent ? 0 : 1);
    expect(r.skipped[0]?.waitsFor ?? null).toBe(c.waitsFor);
  });

  it('an action after a held one of the same VM waits for the same thing', () => {
    const ownerChange: Action[] = [
      { kind: 'delete', key: 'pve1/100', panelId: 3, reason: 'owner_changed' },
      { ...create, reason: 'owner_changed' },
    ];
    for (const [failure, waitsFor] of [['retryable', 'retry'], ['rejected', 'operator']] as const) {
      const r = gate({ actions: ownerChange, open: [item({ kind: 'delete', panelId: 3, fields: null, failure, nextAttemptAt: NOW + 1 })], now: NOW });
      expect(r.skipped.map((s) => [s.action.kind, s.waitsFor])).toEqual([['delete', waitsFor], ['create', waitsFor]]);
    }
  });

  it('reports every ambiguous item with the resolve command', () => {
    const r = gate({ actions: [], open: [item({ state: 'ambiguous', failure: null, lastError: 'timeout after 10000 ms' })], now: NOW });
    expect(r.drift).toHaveLength(1);
    expect(r.drift[0]?.detail).toContain('ospab-vps-sync resolve pve1/100 --panel-id N');
  });

  it.each([
    [1, 0, 500], [1, 1, 1000], [2, 0, 1000], [3, 1, 4000], [20, 1, 60_000], [20, 0, 30_000],
  ])('backoffDelay(attempt %i, random %f) = %i ms with base 1s, cap 60s', (attempts, random, want) => {
    expect(backoffDelay(attempts, 1000, 60_000, () => random)).toBe(want);
  });
});
