// After a billing change the thread maps only the rows that changed and copies the engine's
// records for the rest (row-delta.ts). The records decide who owns each VPS, so the oracle is
// strict: after every pass, what the engine holds and the rejected rows must equal mapping every
// row afresh with mapRows — for random results with bad rows, duplicate claims, moves, deletes,
// inserts and replies the engine never applied — and the pinned cases check that the fast path is really taken (rows not re-mapped,
// the engine's record objects reused).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyDelta, COPY, INSERT, SKIP } from '../../src/billing/delta.js';
import { HeldBilling, readAll, readChanges, type BillingChanges } from '../../src/billing/row-delta.js';
import { mapRows, resolveColumns } from '../../src/billing/rows.js';
import type { BillingRecord } from '../../src/domain/types.js';

const COLUMNS = ['vm_id', 'user_id', 'source', 'billing_id', 'status', 'os', 'name'];
type Row = unknown[];

/** The billing thread and the engine across passes, as the worker and ThreadedBillingSource run them (the source's second read included). */
class Harness {
  readonly thread = new HeldBilling();
  engine: readonly BillingRecord[] = [];
  lastKind: BillingChanges['kind'] | 'duplicates' | null = null;

  /** The engine gave up on the last reply (pass timeout): it still holds what it held before, which the thread no longer knows. */
  private lost = false;

  pass(rows: readonly Row[], columns: readonly string[] = COLUMNS, { loseReply = false } = {}): { records: readonly BillingRecord[]; rejected: unknown } {
    const index = resolveColumns(columns).map;
    if (this.lost) {
      // As the worker does when the engine asks from an older generation: the reply is then a delta from nothing.
      this.thread.forget();
      this.engine = [];
      this.lost = false;
    }
    const since = this.thread.since();
    let found: BillingChanges | { kind: 'duplicates' } = readChanges(columns, index, rows, since);
    this.lastKind = found.kind;
    if (found.kind === 'duplicates') found = { kind: 'all', ...readAll(columns, index, rows) };
    const { delta, rejected } = this.thread.take(found);
    if (loseReply) {
      this.lost = true;
      return { records: this.engine, rejected };
    }
    this.engine = applyDelta(this.engine, delta);
    return { records: this.engine, rejected };
  }
}

const row = (vmId: unknown, userId: unknown, over: Partial<Record<'source' | 'billingId' | 'status' | 'os' | 'name', unknown>> = {}): Row => [
  vmId,
  userId,
  over.source ?? 'pve-a',
  'billingId' in over ? over.billingId : `B${String(vmId)}`,
  over.status ?? 'active',
  over.os ?? 'Debian 12',
  'name' in over ? over.name : `srv-${String(vmId)}`,
];
const rowsOf = (n: number): Row[] => Array.from({ length: n }, (_, i) => row(1000 + i, (i % 50) + 1));
/** Each pass, the driver hands over new arrays and values. */
const copyRows = (rows: readonly Row[]): Row[] => rows.map((r) => [...r]);
const expected = (rows: readonly Row[], columns = COLUMNS) => mapRows(rows, resolveColumns(columns).map);

describe('a read after a change', () => {
  it('answers "unchanged" for the same rows, and the engine keeps its array', () => {
    const h = new Harness();
    const rows = rowsOf(500);
    const first = h.pass(rows).records;
    h.pass(copyRows(rows));
    expect(h.lastKind).toBe('unchanged');
    expect(h.engine).toBe(first);
  });

  it('maps only the changed row and copies the other records (the very objects the engine holds)', () => {
    const h = new Harness();
    const rows = rowsOf(1000);
    const before = h.pass(rows).records;
    const next = copyRows(rows);
    next[600] = row(1600, 42);
    const index = resolveColumns(COLUMNS).map;
    const since = h.thread.since();
    const found = readChanges(COLUMNS, index, next, since);
    expect(found.kind).toBe('edits');
    if (found.kind !== 'edits') return;
    expect(found.delta.inserted).toHaveLength(1);
    // The changed row goes in where it stands; the held record it replaces is skipped before the next copy.
    expect(found.delta.ops).toEqual([COPY, 600, INSERT, 1, SKIP, 1, COPY, 399]);
    const after = h.pass(next).records;
    expect(after).toEqual(expected(next).records);
    expect(after[599]).toBe(before[599]);
    expect(after[601]).toBe(before[601]);
    expect(after[600]!.userId).toBe(42);
  });

  it('skips a deleted row and inserts a new one where the query puts it, copying the rest', () => {
    const h = new Harness();
    const rows = rowsOf(300);
    h.pass(rows);
    const next = copyRows(rows);
    next.splice(100, 1);
    next.splice(200, 0, row(5000, 7));
    const r = h.pass(next);
    expect(h.lastKind).toBe('edits');
    expect(r.records).toEqual(expected(next).records);
  });

  it('names a bad row by its new position when rows above it went away', () => {
    const h = new Harness();
    const rows = rowsOf(20);
    rows[10] = row(1010, 'not a user');
    h.pass(rows);
    const next = copyRows(rows);
    next.splice(2, 3);
    const r = h.pass(next);
    expect(r.rejected).toEqual(expected(next).rejected);
    expect(JSON.stringify(r.rejected)).toContain('billing row 8');
  });

  it('reads the rows again when a new row claims a VM another row holds: both are rejected, each named', () => {
    const h = new Harness();
    const rows = rowsOf(50);
    h.pass(rows);
    const next = [...copyRows(rows), row(1020, 9, { billingId: 'late' })];
    const r = h.pass(next);
    expect(h.lastKind).toBe('duplicates');
    expect(r.records).toEqual(expected(next).records);
    expect(r.rejected).toEqual(expected(next).rejected);
    expect(r.records.some((x) => x.vmId === '1020')).toBe(false);
    expect(JSON.stringify(r.rejected)).toMatch(/duplicate \(source, vm_id\) \(pve-a, 1020\): 2 rows claim it \(billing_id B1020, billing_id late\)/);
  });

  it('copies nothing when the query returns other columns (the same values may now mean other fields)', () => {
    const h = new Harness();
    const rows = rowsOf(30);
    h.pass(rows);
    // os and name swapped: every row's values are the same, the records are not.
    const swapped = ['vm_id', 'user_id', 'source', 'billing_id', 'status', 'name', 'os'];
    const r = h.pass(copyRows(rows), swapped);
    expect(r.records).toEqual(expected(rows, swapped).records);
    expect(r.records[0]!.os).toBe('srv-1000');
  });

  it('copies a moved row only going forward: rows moved back are mapped again, and the result is still exact', () => {
    const h = new Harness();
    const rows = rowsOf(10);
    const before = h.pass(rows).records;
    const next = copyRows(rows);
    const [moved] = next.splice(8, 1);
    next.splice(1, 0, moved!);
    const r = h.pass(next);
    expect(r.records).toEqual(expected(next).records);
    // Row 8 moved to position 1 is copied; rows 1-7 now come after it in the held order and are mapped.
    expect(r.records[1]).toBe(before[8]);
    expect(r.records[9]).toBe(before[9]);
  });
});

// Small pools so that random results share rows with the last pass, claim the same VM twice and
// carry values the quick path refuses (bad ids, bytes, bigints beyond 2^53, blank text).
const vmIdArb = fc.oneof(fc.constantFrom(101, 102, 103, 104, 105), fc.constantFrom('101', ' 102', 'vm-7', 'vm-8'), fc.constantFrom(103n, null, -1, 'x', ''));
const userArb = fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constantFrom('3', 5n, 2n ** 60n, 0, null));
const textArb = fc.constantFrom<unknown>(null, 'Debian 12', ' Ubuntu ', '', 7, Buffer.from('db'));
const rowArb: fc.Arbitrary<Row> = fc.tuple(
  vmIdArb,
  userArb,
  fc.constantFrom<unknown>(null, 'pve-a', 'pve-b', ''),
  fc.constantFrom<unknown>(null, 'B1', 'B2', 12, Buffer.from([1, 2])),
  fc.constantFrom<unknown>(null, 'active', ' Suspended', Buffer.from('unpaid')),
  textArb,
  textArb,
);
type Edit = { kind: 'set'; at: number; col: number; row: Row } | { kind: 'drop'; at: number } | { kind: 'add'; at: number; row: Row } | { kind: 'move'; from: number; to: number };
const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), col: fc.nat({ max: 6 }), row: rowArb }),
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('add' as const), at: fc.nat(), row: rowArb }),
  fc.record({ kind: fc.constant('move' as const), from: fc.nat(), to: fc.nat() }),
);

function edited(rows: readonly Row[], edits: readonly Edit[]): Row[] {
  const out = copyRows(rows);
  for (const e of edits) {
    if (e.kind === 'add') {
      out.splice(e.at % (out.length + 1), 0, [...e.row]);
      continue;
    }
    if (out.length === 0) continue;
    if (e.kind === 'set') out[e.at % out.length]![e.col] = e.row[e.col];
    else if (e.kind === 'drop') out.splice(e.at % out.length, 1);
    else out.splice(e.to % out.length, 0, out.splice(e.from % out.length, 1)[0]!);
  }
  return out;
}

describe('random passes (fast-check)', () => {
  it('leave the engine holding exactly what mapping every row gives, and the same rejected rows', () => {
    const kinds = new Set<string>();
    fc.assert(
      fc.property(fc.array(rowArb, { maxLength: 12 }), fc.array(fc.array(editArb, { maxLength: 4 }), { minLength: 1, maxLength: 5 }), fc.array(fc.integer({ min: 0, max: 6 }).map((n) => n === 0), { minLength: 6, maxLength: 6 }), (start, passes, lose) => {
        const h = new Harness();
        let rows = start;
        for (let p = 0; p <= passes.length; p++) {
          if (p > 0) rows = edited(rows, passes[p - 1]!);
          if (lose[p]) {
            // A reply the engine never applied: the next pass must still come out exact.
            h.pass(rows, COLUMNS, { loseReply: true });
            continue;
          }
          const r = h.pass(rows);
          kinds.add(h.lastKind!);
          const want = expected(rows);
          expect(r.records).toEqual(want.records);
          expect(r.rejected).toEqual(want.rejected);
        }
      }),
      { numRuns: 1500 },
    );
    // Every path of the read was taken.
    expect([...kinds].sort()).toEqual(['duplicates', 'edits', 'unchanged']);
  });

  it('re-map no more rows than changed when every row is valid and claims its own VM', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.array(fc.nat({ max: 59 }), { maxLength: 5 }), (n, changed) => {
        const h = new Harness();
        const rows = rowsOf(n);
        h.pass(rows);
        const next = copyRows(rows);
        const touched = new Set(changed.filter((i) => i < n));
        for (const i of touched) next[i] = row(1000 + i, 77, { name: `renamed-${i}` });
        const since = h.thread.since();
        const found = readChanges(COLUMNS, resolveColumns(COLUMNS).map, next, since);
        if (touched.size === 0) expect(found.kind).toBe('unchanged');
        else if (found.kind === 'edits') expect(found.delta.inserted).toHaveLength(touched.size);
        else expect.unreachable(`expected edits, got ${found.kind}`);
      }),
      { numRuns: 300 },
    );
  });
});
