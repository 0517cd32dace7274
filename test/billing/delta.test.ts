// The billing thread sends each pass's records as edits against what the engine holds. If the two
// sides ever disagree, the engine would bill against the wrong records without noticing, so: the
// edits are pinned exactly for the simple cases, random passes must round-trip and reuse records
// instead of allocating, and any delta that does not fit is refused.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyDelta, COPY, INSERT, RecordDiffer, SKIP } from '../../src/billing/delta.js';
import type { RecordDelta } from '../../src/billing/delta.js';
import type { BillingRecord } from '../../src/domain/types.js';

type Fields = Omit<BillingRecord, 'vmId' | 'source'>;
const FIELDS: readonly (keyof BillingRecord)[] = ['billingId', 'vmId', 'source', 'userId', 'suspended', 'os', 'name'];

/** A record whose fields all differ from VM to VM, so a record copied from the wrong row shows. */
function rec(vmId: string, over: Partial<BillingRecord> = {}): BillingRecord {
  return { billingId: `b-${vmId}`, vmId, source: 'pve-a', userId: Number(vmId), suspended: false, os: 'Debian 12', name: `vm ${vmId}`, ...over };
}

/** A new pass: the query hands over new objects even when nothing changed. */
const fresh = (records: readonly BillingRecord[]): BillingRecord[] => records.map((r) => ({ ...r }));

/** Which VM a record is about (written here rather than borrowed from delta.ts). */
const keyOf = (r: BillingRecord): string => `${r.source ?? '<any>'}/${r.vmId}`;
const fieldEqual = (a: BillingRecord, b: BillingRecord): boolean => FIELDS.every((f) => a[f] === b[f]);

/** A differ and the engine's copy after one pass of `records`. */
function afterPass(records: readonly BillingRecord[]): { differ: RecordDiffer; held: readonly BillingRecord[] } {
  const differ = new RecordDiffer();
  const held = applyDelta([], differ.diff(fresh(records)));
  expect(held).toEqual(records);
  return { differ, held };
}

const [A, B, C, D, E] = ['101', '102', '103', '104', '105'].map((id) => rec(id)) as [BillingRecord, BillingRecord, BillingRecord, BillingRecord, BillingRecord];
const FIVE = [A, B, C, D, E];

describe('the first pass', () => {
  it('inserts every record in one run', () => {
    const delta = new RecordDiffer().diff(fresh(FIVE));
    expect(delta).toEqual({ ops: [INSERT, 5], inserted: FIVE });
    expect(applyDelta([], delta)).toEqual(FIVE);
  });

  it('of no records is no edit at all', () => {
    const delta = new RecordDiffer().diff([]);
    expect(delta).toEqual({ ops: [], inserted: [] });
  });
});

describe('an unchanged pass', () => {
  it('copies everything and the engine keeps its very array', () => {
    const { differ, held } = afterPass(FIVE);
    const delta = differ.diff(fresh(FIVE));
    expect(delta).toEqual({ ops: [COPY, 5], inserted: [] });
    expect(applyDelta(held, delta)).toBe(held);
  });

  it('of no records after no records is no edit, and keeps the array too', () => {
    const { differ, held } = afterPass([]);
    const delta = differ.diff([]);
    expect(delta).toEqual({ ops: [], inserted: [] });
    expect(applyDelta(held, delta)).toBe(held);
  });
});

describe('edits from one pass to the next', () => {
  // [what happened, previous pass, this pass, expected ops, expected inserted]
  const cases: [string, BillingRecord[], BillingRecord[], number[], BillingRecord[]][] = [
    ['a row removed from the middle', FIVE, [A, B, D, E], [COPY, 2, SKIP, 1, COPY, 2], []],
    ['the first row removed', FIVE, [B, C, D, E], [SKIP, 1, COPY, 4], []],
    ['the last row removed', FIVE, [A, B, C, D], [COPY, 4, SKIP, 1], []],
    ['a row appended', FIVE, [...FIVE, rec('106')], [COPY, 5, INSERT, 1], [rec('106')]],
    ['a row inserted in the middle', FIVE, [A, B, rec('110'), C, D, E], [COPY, 2, INSERT, 1, COPY, 3], [rec('110')]],
    ['a row inserted at the front', FIVE, [rec('110'), ...FIVE], [INSERT, 1, COPY, 5], [rec('110')]],
    ['everything removed', FIVE, [], [SKIP, 5], []],
    ['everything replaced', [A, B], [C, D], [SKIP, 2, INSERT, 2], [C, D]],
    // A moved record is re-sent: the edits only go forward through what the engine holds.
    ['two neighbours swapped', FIVE, [A, C, B, D, E], [COPY, 1, INSERT, 1, COPY, 1, SKIP, 1, COPY, 2], [C]],
    // The greedy walk re-sends C too (it sits between the two), which is wasteful but right.
    ['two distant rows swapped', FIVE, [A, D, C, B, E], [COPY, 1, INSERT, 2, COPY, 1, SKIP, 2, COPY, 1], [D, C]],
    ['the whole list reversed', [A, B, C], [C, B, A], [INSERT, 2, COPY, 1, SKIP, 2], [C, B]],
    ['two neighbours changed', FIVE, [A, { ...B, userId: 9 }, { ...C, userId: 9 }, D, E],
      [COPY, 1, SKIP, 1, INSERT, 1, SKIP, 1, INSERT, 1, COPY, 2], [{ ...B, userId: 9 }, { ...C, userId: 9 }]],
    ['the first row changed', FIVE, [{ ...A, os: null }, B, C, D, E], [SKIP, 1, INSERT, 1, COPY, 4], [{ ...A, os: null }]],
    ['the last row changed', FIVE, [A, B, C, D, { ...E, os: null }], [COPY, 4, SKIP, 1, INSERT, 1], [{ ...E, os: null }]],
    ['same vmId, other source: another VM', [A], [{ ...A, source: 'pve-b' }, A], [INSERT, 1, COPY, 1], [{ ...A, source: 'pve-b' }]],
  ];

  it.each(cases)('%s', (_what, prev, next, ops, inserted) => {
    const { differ, held } = afterPass(prev);
    const delta = differ.diff(fresh(next));
    expect(delta.ops).toEqual(ops);
    expect(delta.inserted).toEqual(inserted);
    expect(applyDelta(held, delta)).toEqual(next);
  });

  // [field, change to the middle record]. A change of vmId or source makes it another VM: the old
  // record goes away as gone rather than as replaced, but the edits come out the same.
  const fieldChanges: [string, Partial<BillingRecord>][] = [
    ['billingId', { billingId: 'b-other' }],
    ['billingId to null', { billingId: null }],
    ['userId', { userId: 42 }],
    ['suspended', { suspended: true }],
    ['os', { os: 'Windows Server 2022' }],
    ['os to null', { os: null }],
    ['name', { name: 'renamed' }],
    ['name to null', { name: null }],
    ['vmId (another VM)', { vmId: '199' }],
    ['source (another VM)', { source: 'pve-b' }],
    ['source to null (another VM)', { source: null }],
  ];

  it.each(fieldChanges)('one changed %s in the middle: copy, skip one, insert one, copy', (_field, change) => {
    const { differ, held } = afterPass(FIVE);
    const changed = { ...C, ...change };
    const next = [A, B, changed, D, E];
    const delta = differ.diff(fresh(next));
    expect(delta.ops).toEqual([COPY, 2, SKIP, 1, INSERT, 1, COPY, 2]);
    expect(delta.inserted).toEqual([changed]);
    const out = applyDelta(held, delta);
    expect(out).toEqual(next);
    // The untouched records are the engine's own objects, not new ones.
    expect([0, 1, 3, 4].every((k) => out[k] === held[k])).toBe(true);
  });

  it('a change after an unchanged pass is still measured against the right records', () => {
    // The unchanged pass takes the short way (no keys built); the next one must not notice.
    const differ = new RecordDiffer();
    let held = applyDelta([], differ.diff(fresh(FIVE)));
    held = applyDelta(held, differ.diff(fresh(FIVE)));
    const next = [A, B, D, { ...E, suspended: true }, rec('107')];
    const delta = differ.diff(fresh(next));
    expect(delta.ops).toEqual([COPY, 2, SKIP, 1, COPY, 1, SKIP, 1, INSERT, 2]);
    expect(applyDelta(held, delta)).toEqual(next);
  });
});

describe('forget()', () => {
  it('makes the next delta insert everything, to be applied to nothing', () => {
    const { differ, held } = afterPass(FIVE);
    differ.forget();
    const delta = differ.diff(fresh(FIVE));
    expect(delta).toEqual({ ops: [INSERT, 5], inserted: FIVE });
    expect(applyDelta([], delta)).toEqual(FIVE);
    // An engine that kept its old copy is told so instead of ending up with ten records.
    expect(() => applyDelta(held, delta)).toThrow(/^billing delta: accounts for 0 of 5 held/);
  });

  it('then an empty pass is no edit', () => {
    const { differ } = afterPass(FIVE);
    differ.forget();
    const delta = differ.diff([]);
    expect(delta).toEqual({ ops: [], inserted: [] });
    expect(applyDelta([], delta)).toEqual([]);
  });

  it('lasts one pass: the one after is a delta again', () => {
    const { differ } = afterPass(FIVE);
    differ.forget();
    const held = applyDelta([], differ.diff(fresh(FIVE)));
    const delta = differ.diff(fresh([A, B, D, E]));
    expect(delta).toEqual({ ops: [COPY, 2, SKIP, 1, COPY, 2], inserted: [] });
    expect(applyDelta(held, delta)).toEqual([A, B, D, E]);
  });
});

describe('unchanged() — the query found the same rows as last pass', () => {
  it('copies every held record, and the pass after is measured against the same records', () => {
    const { differ, held } = afterPass(FIVE);
    const delta = differ.unchanged();
    expect(delta).toEqual({ ops: [COPY, 5], inserted: [] });
    expect(applyDelta(held, delta)).toBe(held);
    const changed = fresh(FIVE);
    changed[2] = { ...changed[2]!, name: 'renamed' };
    expect(differ.diff(changed)).toEqual({ ops: [COPY, 2, SKIP, 1, INSERT, 1, COPY, 2], inserted: [changed[2]] });
  });

  it('is no edit at all when nothing is held', () => {
    expect(new RecordDiffer().unchanged()).toEqual({ ops: [], inserted: [] });
  });
});

describe('applyDelta refuses a delta that does not fit what the engine holds', () => {
  const X = rec('201');
  const Y = rec('202');
  // [what is wrong, held, ops, inserted, message after the prefix]
  const cases: [string, BillingRecord[], number[], BillingRecord[], RegExp][] = [
    ['copies past the held records', [A, B, C], [COPY, 4], [], /^billing delta: copies past the 3 held records/],
    ['copies past them after a skip', [A, B, C], [SKIP, 2, COPY, 2], [], /^billing delta: copies past the 3 held records/],
    ['copies when nothing is held', [], [COPY, 1], [], /^billing delta: copies past the 0 held records/],
    ['skips past the held records', [A, B, C], [SKIP, 4], [], /^billing delta: skips past the 3 held records/],
    ['skips when nothing is held', [], [SKIP, 1], [], /^billing delta: skips past the 0 held records/],
    ['inserts more than were sent', [A, B, C], [COPY, 3, INSERT, 2], [X], /^billing delta: inserts more than the 1 records sent/],
    ['inserts when nothing was sent', [], [INSERT, 1], [], /^billing delta: inserts more than the 0 records sent/],
    ['leaves held records unaccounted for', [A, B, C], [COPY, 2], [], /^billing delta: accounts for 2 of 3 held and 0 of 0 sent/],
    ['has no edits for held records', [A, B, C], [], [], /^billing delta: accounts for 0 of 3 held and 0 of 0 sent/],
    ['leaves sent records unused', [A, B, C], [COPY, 3], [X], /^billing delta: accounts for 3 of 3 held and 0 of 1 sent/],
    ['uses only some of the sent records', [A], [COPY, 1, INSERT, 1], [X, Y], /^billing delta: accounts for 1 of 1 held and 1 of 2 sent/],
    ['sends records with no edit at all', [], [], [X], /^billing delta: accounts for 0 of 0 held and 0 of 1 sent/],
    ['has an unknown edit', [A], [3, 1], [], /^billing delta: unknown edit 3/],
    ['has a negative edit', [A], [-1, 1], [], /^billing delta: unknown edit -1/],
    ['has a fractional edit', [A], [0.5, 1], [], /^billing delta: unknown edit 0.5/],
    ['has a count of 0', [A, B, C], [COPY, 0, COPY, 3], [], /^billing delta: bad count 0 at edit 0/],
    ['has a count of 0 later on', [A, B, C], [COPY, 3, INSERT, 0], [], /^billing delta: bad count 0 at edit 1/],
    ['skips 0', [A], [SKIP, 0, COPY, 1], [], /^billing delta: bad count 0 at edit 0/],
    ['has a negative count', [A, B, C], [COPY, -1, COPY, 4], [], /^billing delta: bad count -1 at edit 0/],
    ['has a fractional count', [A, B, C], [COPY, 1.5], [], /^billing delta: bad count 1.5 at edit 0/],
    ['has a count of NaN', [A], [COPY, Number.NaN], [], /^billing delta: bad count NaN at edit 0/],
    ['ends without a count', [A, B, C], [COPY, 3, INSERT], [X], /^billing delta: bad count undefined at edit 1/],
  ];

  it.each(cases)('%s', (_what, held, ops, inserted, message) => {
    const delta: RecordDelta = { ops, inserted };
    expect(() => applyDelta(held, delta)).toThrow(Error);
    expect(() => applyDelta(held, delta)).toThrow(message);
  });
});

// ---- Random passes ----

// Few keys, so that records come back from pass to pass; few values, so that a "change" is
// sometimes no change at all.
const VM_IDS = ['100', '101', '102', '103', '104', '105', '106', '107', '108', '109', '110', '120', 'vm-1', 'vm-2', 'vm-3', 'vm-5'];
const SOURCES = [null, 'pve-a', 'pve-b'];

const fieldsArb: fc.Arbitrary<Fields> = fc.record({
  billingId: fc.constantFrom(null, '1', '2'),
  userId: fc.integer({ min: 1, max: 3 }),
  suspended: fc.boolean(),
  os: fc.constantFrom(null, 'Debian 12', 'Windows'),
  name: fc.constantFrom(null, 'web', 'db'),
});
const recordArb: fc.Arbitrary<BillingRecord> = fc
  .tuple(fc.constantFrom(...VM_IDS), fc.constantFrom(...SOURCES), fieldsArb)
  .map(([vmId, source, fields]) => ({ ...fields, vmId, source }));
/** One query result: any order, no key twice. */
const listArb = fc.uniqueArray(recordArb, { selector: keyOf, maxLength: 14 });

/** How one pass's records come from the previous pass's (applied by `nextPass`). */
type Step =
  | { readonly kind: 'fresh'; readonly records: readonly BillingRecord[] }
  | { readonly kind: 'again' }
  | {
      readonly kind: 'edit';
      readonly drop: readonly number[];
      readonly change: readonly { readonly at: number; readonly fields: Partial<Fields> }[];
      readonly add: readonly { readonly at: number; readonly record: BillingRecord }[];
      /** Sort ranks by position, or null to keep the order. */
      readonly reorder: readonly number[] | null;
    };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: listArb.map((records): Step => ({ kind: 'fresh', records })), weight: 1 },
  { arbitrary: fc.constant<Step>({ kind: 'again' }), weight: 1 },
  {
    arbitrary: fc
      .record({
        drop: fc.array(fc.nat(), { maxLength: 3 }),
        change: fc.array(fc.record({ at: fc.nat(), fields: fieldsArb.chain((f) => fc.subarray(Object.keys(f) as (keyof Fields)[], { minLength: 1 }).map((ks) => Object.fromEntries(ks.map((k) => [k, f[k]])) as Partial<Fields>)) }), { maxLength: 3 }),
        add: fc.array(fc.record({ at: fc.nat(), record: recordArb }), { maxLength: 3 }),
        reorder: fc.option(fc.array(fc.nat({ max: 20 }), { minLength: 1, maxLength: 14 }), { freq: 3 }),
      })
      .map((e): Step => ({ kind: 'edit', ...e })),
    weight: 4,
  },
);

/** This pass's records: always new objects, keys still unique. */
function nextPass(prev: readonly BillingRecord[], step: Step): BillingRecord[] {
  if (step.kind === 'fresh') return fresh(step.records);
  let list = fresh(prev);
  if (step.kind === 'again') return list;
  const dropped = new Set(step.drop.map((d) => d % Math.max(list.length, 1)));
  list = list.filter((_, i) => !dropped.has(i));
  for (const { at, fields } of step.change) {
    if (list.length > 0) list[at % list.length] = { ...list[at % list.length]!, ...fields };
  }
  for (const { at, record } of step.add) {
    if (!list.some((r) => keyOf(r) === keyOf(record))) list.splice(at % (list.length + 1), 0, { ...record });
  }
  const ranks = step.reorder;
  if (ranks !== null) {
    list = list
      .map((r, i) => ({ r, rank: ranks[i % ranks.length]! }))
      .sort((x, y) => x.rank - y.rank)
      .map(({ r }) => r);
  }
  return list;
}

/** Records of `next` that no record of `prev` could stand for: new VMs and changed rows. */
function newOrChanged(prev: readonly BillingRecord[], next: readonly BillingRecord[]): number {
  const before = new Map(prev.map((r) => [keyOf(r), r]));
  return next.filter((r) => {
    const p = before.get(keyOf(r));
    return p === undefined || !fieldEqual(p, r);
  }).length;
}

/** Whether the VMs in both passes come in the same relative order. */
function commonOrderKept(prev: readonly BillingRecord[], next: readonly BillingRecord[]): boolean {
  const inNext = new Set(next.map(keyOf));
  const inPrev = new Set(prev.map(keyOf));
  const a = prev.map(keyOf).filter((k) => inNext.has(k));
  const b = next.map(keyOf).filter((k) => inPrev.has(k));
  return a.every((k, i) => k === b[i]);
}

describe('random successive passes', () => {
  it('rebuild each pass exactly, from held and sent records only, re-sending no more than needed', () => {
    const passesArb = fc.array(fc.record({ step: stepArb, lost: fc.integer({ min: 0, max: 9 }).map((n) => n === 0) }), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(passesArb, (passes) => {
        const differ = new RecordDiffer();
        let prev: readonly BillingRecord[] = [];
        let held: readonly BillingRecord[] = [];
        for (const { step, lost } of passes) {
          if (lost) {
            // The engine abandoned a reply: both sides start over from nothing.
            differ.forget();
            prev = [];
            held = [];
          }
          const next = nextPass(prev, step);
          const delta = differ.diff(next);

          // The edits are in their merged form: whole positive counts, never the same op twice in a row.
          for (let k = 0; k < delta.ops.length; k += 2) {
            expect([COPY, SKIP, INSERT]).toContain(delta.ops[k]);
            expect(Number.isInteger(delta.ops[k + 1]) && delta.ops[k + 1]! > 0).toBe(true);
            if (k > 0) expect(delta.ops[k]).not.toBe(delta.ops[k - 2]);
          }

          const out = applyDelta(held, delta);
          expect(out).toEqual(next);

          // Nothing new is made: each record is one the engine held or one that was sent, and the
          // sent ones are all used, in the order sent.
          const before = new Set(held);
          const sent = new Set(delta.inserted);
          expect(out.every((r) => before.has(r) || sent.has(r))).toBe(true);
          const placed = out.filter((r) => sent.has(r));
          expect(placed.length).toBe(delta.inserted.length);
          expect(placed.every((r, k) => r === delta.inserted[k])).toBe(true);

          // A new or changed row cannot be copied, so it is sent; when the VMs both passes share
          // keep their order, nothing else is.
          const needed = newOrChanged(prev, next);
          expect(delta.inserted.length).toBeGreaterThanOrEqual(needed);
          expect(delta.inserted.length).toBeLessThanOrEqual(next.length);
          if (commonOrderKept(prev, next)) expect(delta.inserted.length).toBe(needed);
          if (needed === 0 && next.length === prev.length && commonOrderKept(prev, next)) {
            // Unchanged: nothing sent and the engine keeps its array.
            expect(delta.inserted).toEqual([]);
            expect(out).toBe(held);
          }

          held = out;
          prev = next;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('send exactly one record when one row changes in place', () => {
    fc.assert(
      fc.property(listArb.filter((l) => l.length > 0), fc.nat(), fieldsArb, (list, at, fields) => {
        const { differ, held } = afterPass(list);
        const next = fresh(list);
        const i = at % next.length;
        next[i] = { ...next[i]!, ...fields };
        const changed = !fieldEqual(next[i]!, list[i]!);
        const delta = differ.diff(next);
        expect(delta.inserted).toEqual(changed ? [next[i]] : []);
        const out = applyDelta(held, delta);
        expect(out).toEqual(next);
        // Every other row is the engine's own object.
        expect(out.every((r, k) => k === i || r === held[k])).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('advance: the differ follows a delta made elsewhere (row-delta.ts)', () => {
  it('holds afterwards what it would hold had it made the delta itself (fast-check)', () => {
    fc.assert(
      fc.property(listArb, stepArb, stepArb, (first, step, later) => {
        const maker = new RecordDiffer();
        const follower = new RecordDiffer();
        maker.diff(fresh(first));
        follower.diff(fresh(first));
        const next = nextPass(first, step);
        follower.advance(maker.diff(next));
        expect(follower.keys).toEqual(maker.keys);
        // The same fingerprints: both answer the pass after alike, and "keep all" for the same rows.
        const after = nextPass(next, later);
        expect(follower.diff(fresh(after))).toEqual(maker.diff(fresh(after)));
        expect(follower.diff(fresh(after)).inserted).toEqual([]);
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses a delta that does not fit what it holds, and keeps what it held', () => {
    const { differ } = afterPass([A, B]);
    const keys = differ.keys;
    expect(() => differ.advance({ ops: [COPY, 3], inserted: [] })).toThrow(/goes past the 2 held records/);
    expect(() => differ.advance({ ops: [COPY, 1], inserted: [] })).toThrow(/accounts for 1 of 2 held/);
    expect(() => differ.advance({ ops: [COPY, 2, INSERT, 1], inserted: [] })).toThrow(/inserts more than the 0 records sent/);
    expect(differ.keys).toBe(keys);
    expect(differ.diff(fresh([A, B]))).toEqual({ ops: [COPY, 2], inserted: [] });
  });
});
