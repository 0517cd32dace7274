// A pass's billing records as the difference from the previous pass's. The query runs on its own
// thread (see thread/source.ts) and its records have to reach the engine's thread: copying all of
// them costs about as much as reading them (98,000 records: 80-180 ms to deserialize), while
// from one pass to the next almost all of them are equal. So the billing thread remembers what
// the engine holds and sends only edits: copy a run of the held records, skip a run, or insert
// new ones. Applying the edits gives exactly the new list, in the query's order.
import type { BillingRecord } from '../domain/types.js';
import { Fingerprint } from './fingerprint.js';

/** An edit: `[op, count]` pairs, flat. */
export const COPY = 0;
export const SKIP = 1;
export const INSERT = 2;

/** The edits from the records the engine holds to this pass's; `inserted` in the order they go in. */
export interface RecordDelta {
  readonly ops: readonly number[];
  readonly inserted: readonly BillingRecord[];
}

// The billing thread keeps, per record the engine holds, a 106-bit fingerprint of its fields
// (two doubles, fingerprint.ts) rather than the record or its text: 1.6 MB at 100,000 records
// instead of ~13 MB of records, on top of the engine's own copy. A changed record whose
// fingerprint still matched would be kept stale, at odds of 2^-106 per changed record.
const print = new Fingerprint();

function fingerprint(r: BillingRecord, a: Float64Array, b: Float64Array, at: number): void {
  print.reset().text(r.vmId).text(r.source).number(r.userId).text(r.billingId).value(r.suspended).text(r.os).text(r.name);
  a[at] = print.a;
  b[at] = print.b;
}

/**
 * Which VM a record (or a billing row's claim) is about, as a number: 53 bits of a fingerprint of
 * vm_id and source. Used to line the lists up — two VMs with the same number cost extra inserts,
 * never a wrong record — and to spot rows claiming the same VM (row-delta.ts), where a shared
 * number only sends the rows down the slower, exact path.
 */
export function claimKey(r: { readonly vmId: string; readonly source: string | null }): number {
  return print.reset().text(r.vmId).text(r.source).a;
}

/** Appends `count` of `op`, merged into the previous edit when it is the same op. */
export function pushEdit(ops: number[], op: number, count: number): void {
  const last = ops.length - 2;
  if (last >= 0 && ops[last] === op) ops[last + 1]! += count;
  else ops.push(op, count);
}

const NONE = new Float64Array(0);

/**
 * The billing thread's side: remembers what the engine holds (fingerprints of the records of the
 * last delta it sent) and computes the next delta from it.
 */
export class RecordDiffer {
  private heldA: Float64Array = NONE;
  private heldB: Float64Array = NONE;
  private heldKeys: Float64Array = NONE;

  /** Call when the engine's copy is lost (it abandoned a reply): the next delta inserts everything. */
  forget(): void {
    this.heldA = this.heldB = this.heldKeys = NONE;
  }

  /** Keys (claimKey) of the records the engine holds, in its order. */
  get keys(): Float64Array {
    return this.heldKeys;
  }

  /**
   * The engine is applying `delta`, made elsewhere from what it holds (a read that mapped only
   * the rows that changed, row-delta.ts): from then on it is taken to hold the result. The
   * fingerprints of copied records are kept, those of inserted ones computed. Throws when the
   * delta does not fit what is held, like applyDelta.
   */
  advance(delta: RecordDelta): void {
    const { ops, inserted } = delta;
    let n = 0;
    for (let k = 0; k < ops.length; k += 2) if (ops[k] !== SKIP) n += ops[k + 1]!;
    const a = new Float64Array(n);
    const b = new Float64Array(n);
    const keys = new Float64Array(n);
    const held = this.heldA.length;
    let from = 0;
    let to = 0;
    let taken = 0;
    for (let k = 0; k < ops.length; k += 2) {
      const op = ops[k];
      const count = ops[k + 1]!;
      if (op === INSERT) {
        if (taken + count > inserted.length) throw new Error(`billing delta: inserts more than the ${inserted.length} records sent`);
        for (let m = 0; m < count; m++, to++) {
          const r = inserted[taken++]!;
          fingerprint(r, a, b, to);
          keys[to] = claimKey(r);
        }
        continue;
      }
      if (from + count > held) throw new Error(`billing delta: goes past the ${held} held records`);
      if (op === COPY) {
        a.set(this.heldA.subarray(from, from + count), to);
        b.set(this.heldB.subarray(from, from + count), to);
        keys.set(this.heldKeys.subarray(from, from + count), to);
        to += count;
      }
      from += count;
    }
    if (from !== held || taken !== inserted.length) throw new Error(`billing delta: accounts for ${from} of ${held} held and ${taken} of ${inserted.length} sent records`);
    this.heldA = a;
    this.heldB = b;
    this.heldKeys = keys;
  }

  /** The delta when the query's rows are the ones the engine's records were made from: keep them all. */
  unchanged(): RecordDelta {
    return { ops: this.heldA.length > 0 ? [COPY, this.heldA.length] : [], inserted: [] };
  }

  /** The delta from what the engine holds to `next`; from then on the engine is taken to hold `next`. */
  diff(next: readonly BillingRecord[]): RecordDelta {
    const n = next.length;
    const a = new Float64Array(n);
    const b = new Float64Array(n);
    for (let j = 0; j < n; j++) fingerprint(next[j]!, a, b, j);
    const { heldA, heldB } = this;
    const held = heldA.length;
    const keys = new Float64Array(n);
    for (let j = 0; j < n; j++) keys[j] = claimKey(next[j]!);
    const heldKeys = this.heldKeys;
    this.heldA = a;
    this.heldB = b;
    this.heldKeys = keys;
    // The usual pass: the same records in the same order.
    let same = n === held;
    for (let j = 0; same && j < n; j++) same = a[j] === heldA[j] && b[j] === heldB[j];
    if (same) return { ops: n > 0 ? [COPY, n] : [], inserted: [] };

    const nextAt = new Map<number, number>();
    for (let j = 0; j < n; j++) nextAt.set(keys[j]!, j);
    const ops: number[] = [];
    const inserted: BillingRecord[] = [];
    let i = 0;
    for (let j = 0; j < n; j++) {
      // Held records that are gone, or that were already inserted further up (moved): skipped.
      while (i < held) {
        const at = nextAt.get(heldKeys[i]!);
        if (at !== undefined && at >= j) break;
        pushEdit(ops, SKIP, 1);
        i++;
      }
      if (i < held && heldA[i] === a[j] && heldB[i] === b[j]) {
        pushEdit(ops, COPY, 1);
        i++;
        continue;
      }
      if (i < held && heldKeys[i] === keys[j]) {
        // The same VM's row changed: the old record goes, the new one takes its place.
        pushEdit(ops, SKIP, 1);
        i++;
      }
      // A new row, or one whose held record comes later (moved up): inserted here.
      pushEdit(ops, INSERT, 1);
      inserted.push(next[j]!);
    }
    if (i < held) pushEdit(ops, SKIP, held - i);
    return { ops, inserted };
  }
}

/**
 * The engine's side: this pass's records from the ones it holds and a delta. When nothing changed
 * it returns `held` itself (records are never modified, so sharing them is safe). Throws when the
 * delta does not fit `held`: the two sides disagree about what the engine holds.
 */
export function applyDelta(held: readonly BillingRecord[], delta: RecordDelta): readonly BillingRecord[] {
  const { ops, inserted } = delta;
  if (inserted.length === 0 && ((ops.length === 0 && held.length === 0) || (ops.length === 2 && ops[0] === COPY && ops[1] === held.length && held.length > 0))) {
    return held;
  }
  const out: BillingRecord[] = [];
  let from = 0;
  let taken = 0;
  for (let k = 0; k < ops.length; k += 2) {
    const op = ops[k];
    const count = ops[k + 1]!;
    if (!Number.isInteger(count) || count <= 0) throw new Error(`billing delta: bad count ${String(count)} at edit ${k / 2}`);
    if (op === COPY) {
      if (from + count > held.length) throw new Error(`billing delta: copies past the ${held.length} held records`);
      for (let n = 0; n < count; n++) out.push(held[from++]!);
    } else if (op === SKIP) {
      if (from + count > held.length) throw new Error(`billing delta: skips past the ${held.length} held records`);
      from += count;
    } else if (op === INSERT) {
      if (taken + count > inserted.length) throw new Error(`billing delta: inserts more than the ${inserted.length} records sent`);
      for (let n = 0; n < count; n++) out.push(inserted[taken++]!);
    } else {
      throw new Error(`billing delta: unknown edit ${String(op)}`);
    }
  }
  if (from !== held.length || taken !== inserted.length) {
    throw new Error(`billing delta: accounts for ${from} of ${held.length} held and ${taken} of ${inserted.length} sent records`);
  }
  return out;
}
