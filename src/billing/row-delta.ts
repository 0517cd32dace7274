// The billing thread's read after a change. A pass's billing rows are nearly all the rows the
// engine's records came from last time, so instead of mapping 100,000 rows into records to find
// the few hundred that differ (and building a heap of garbage doing it), each row is
// fingerprinted as it streams by and looked up among the rows the engine's records came from: a
// row seen before becomes "copy that record", and only a new or changed row is mapped. The answer
// is the same delta the engine always applies (delta.ts), equal to mapping every row (a
// fast-check test holds it to that).
//
// One thing a row cannot tell on its own: whether another row claims the same VM (mapRows then
// rejects all of them, naming each row). When any two rows might, the read says so and the rows
// are read again and mapped the ordinary way (readAll).
import type { BillingRecord, RejectedItem } from '../domain/types.js';
import { COPY, INSERT, RecordDiffer, SKIP, claimKey, pushEdit, type RecordDelta } from './delta.js';
import { Fingerprint, printRow } from './fingerprint.js';
import { RowReader, claimOf, mapRows, settleRow, type ColumnIndex, type ResultRow } from './rows.js';

/** What the billing thread keeps of the result it last answered with: a fingerprint per row, and the held record each row gave. */
export interface HeldRows {
  readonly columns: readonly string[];
  readonly a: Float64Array;
  readonly b: Float64Array;
  /** The row's record's index among the records the engine holds; -1 when the row gave none. */
  readonly record: Int32Array;
}

/** What one read of the rows found. */
export type RowsRead =
  /** The rows of last time, in the same order: the engine keeps what it holds. */
  | { readonly kind: 'unchanged' }
  /** The delta from what the engine holds; `rows` is what to keep for next time. */
  | { readonly kind: 'edits'; readonly delta: RecordDelta; readonly rejected: RejectedItem[]; readonly rows: HeldRows }
  /** Two rows may claim the same VM: map them all with readAll. */
  | { readonly kind: 'duplicates' };

/** What a billing query found, for the thread: a read's answer, or (after `duplicates`) every row mapped by a second read. */
export type BillingChanges =
  | Exclude<RowsRead, { kind: 'duplicates' }>
  | { readonly kind: 'all'; readonly records: BillingRecord[]; readonly rejected: RejectedItem[]; readonly rows: HeldRows };

/**
 * What the thread knows of the engine's records, for a read: the rows they came from (null:
 * nothing) and their claimKeys; and the read's per-row scratch space, kept from read to read.
 */
export interface HeldSince {
  readonly rows: HeldRows | null;
  readonly keys: Float64Array;
  readonly scratch: RowColumns;
}

/**
 * The billing thread's memory of what the engine holds, from one reply to the next: a
 * fingerprint per record (RecordDiffer) and per row they came from, and the rows that gave none.
 */
export class HeldBilling {
  private readonly differ = new RecordDiffer();
  private rows: HeldRows | null = null;
  private rejected: readonly RejectedItem[] = [];
  // Reused by every read (the thread runs one at a time): a new one per read would be promoted
  // to the old generation while the rows stream (the thread allocates little else), and its
  // ~3 MB at 100,000 rows would pile up outside the heap until a full collection.
  private readonly scratch = new RowColumns(1024);

  /** Whether the engine holds records this thread knows (else a reply is a delta from nothing). */
  get known(): boolean {
    return this.rows !== null;
  }

  /** The engine did not take the last reply: what it holds is unknown here, so the next reply starts from nothing. */
  forget(): void {
    this.differ.forget();
    this.rows = null;
    this.rejected = [];
  }

  /** What a read compares the rows with. */
  since(): HeldSince {
    return { rows: this.rows, keys: this.differ.keys, scratch: this.scratch };
  }

  /** Takes what a read found as what the engine will hold, and returns the reply: the delta and the rejected rows. */
  take(found: BillingChanges): { delta: RecordDelta; rejected: readonly RejectedItem[] } {
    if (found.kind === 'unchanged') return { delta: this.differ.unchanged(), rejected: this.rejected };
    let delta: RecordDelta;
    if (found.kind === 'edits') {
      delta = found.delta;
      this.differ.advance(delta);
    } else {
      delta = this.differ.diff(found.records);
    }
    this.rows = found.rows;
    this.rejected = found.rejected;
    return { delta, rejected: found.rejected };
  }
}

/** Reads one result's rows against what the engine holds (`since`, from HeldBilling). */
export function readChanges(columns: readonly string[], index: ColumnIndex, rows: Iterable<ResultRow>, since: HeldSince): RowsRead {
  const { rows: held, keys: heldKeys, scratch: columnsOut } = since;
  // Another column list may put the same values in other fields: nothing of the last result carries over.
  const known = held !== null && sameColumns(held.columns, columns) ? held : null;
  // Built on the first row not found where it was last time: a pass without a change never needs it.
  let table: PrintTable | null = null;
  const print = new Fingerprint();
  const reader = new RowReader(index);
  const ops: number[] = [];
  const inserted: BillingRecord[] = [];
  const rejected: RejectedItem[] = [];
  let same = known !== null;
  // The next held record not yet copied or skipped: copies go forward only, as the delta does.
  let cursor = 0;
  // Records of the new list so far (copied and inserted).
  let records = 0;
  let j = -1;
  for (const row of rows) {
    j++;
    printRow(print, row);
    const pa = print.a;
    const pb = print.b;
    let h = -1;
    if (known !== null) {
      if (j < known.a.length && known.a[j] === pa && known.b[j] === pb) h = j;
      else {
        same = false;
        table ??= new PrintTable(known);
        h = table.find(pa, pb);
      }
    }
    const r = h >= 0 ? known!.record[h]! : -1;
    if (r >= cursor) {
      // A row the engine holds the record of: the same values give the same record.
      if (r > cursor) pushEdit(ops, SKIP, r - cursor);
      pushEdit(ops, COPY, 1);
      cursor = r + 1;
      columnsOut.set(j, pa, pb, records++, heldKeys[r]!);
      continue;
    }
    const reading = reader.read(row, j);
    const claim = claimOf(reading);
    const gave = settleRow(reading, j, inserted, rejected);
    if (gave) pushEdit(ops, INSERT, 1);
    columnsOut.set(j, pa, pb, gave ? records++ : -1, claim ? claimKey(claim) : NaN);
  }
  const n = j + 1;
  if (same && n === known!.a.length) return { kind: 'unchanged' };
  if (columnsOut.claimRepeats(n)) return { kind: 'duplicates' };
  if (cursor < heldKeys.length) pushEdit(ops, SKIP, heldKeys.length - cursor);
  return { kind: 'edits', delta: { ops, inserted }, rejected, rows: columnsOut.held(columns, n) };
}

/** Maps every row (mapRows) and fingerprints them for next time; `records` replace what the engine holds. */
export function readAll(columns: readonly string[], index: ColumnIndex, rows: Iterable<ResultRow>): { records: BillingRecord[]; rejected: RejectedItem[]; rows: HeldRows } {
  const print = new Fingerprint();
  const a: number[] = [];
  const b: number[] = [];
  const printed = (function* () {
    for (const row of rows) {
      printRow(print, row);
      a.push(print.a);
      b.push(print.b);
      yield row;
    }
  })();
  const rowRecord: number[] = [];
  const { records, rejected } = mapRows(printed, index, rowRecord);
  return { records, rejected, rows: heldRows(columns, a, b, rowRecord) };
}

function heldRows(columns: readonly string[], a: number[], b: number[], rowRecord: number[]): HeldRows {
  return { columns: [...columns], a: Float64Array.from(a), b: Float64Array.from(b), record: Int32Array.from(rowRecord) };
}

function sameColumns(x: readonly string[], y: readonly string[]): boolean {
  return x.length === y.length && x.every((c, i) => c === y[i]);
}

/** What readChanges keeps per row (fingerprint, record index, claimKey) in typed arrays: no object per row. Grows as needed; reused from read to read. */
export class RowColumns {
  private a: Float64Array;
  private b: Float64Array;
  private record: Int32Array;
  /** claimKey of the VM the row claims; NaN when it claims none. */
  private claims: Float64Array;

  constructor(capacity: number) {
    this.a = new Float64Array(capacity);
    this.b = new Float64Array(capacity);
    this.record = new Int32Array(capacity);
    this.claims = new Float64Array(capacity);
  }

  set(j: number, a: number, b: number, record: number, claim: number): void {
    if (j === this.a.length) this.grow();
    this.a[j] = a;
    this.b[j] = b;
    this.record[j] = record;
    this.claims[j] = claim;
  }

  /** Whether two of the first `n` rows may claim the same VM (equal claimKeys). */
  claimRepeats(n: number): boolean {
    const sorted = this.claims.subarray(0, n).sort();
    for (let i = 1; i < n; i++) if (sorted[i] === sorted[i - 1]) return true;
    return false;
  }

  /** The first `n` rows, to keep for the next read. */
  held(columns: readonly string[], n: number): HeldRows {
    return { columns: [...columns], a: this.a.slice(0, n), b: this.b.slice(0, n), record: this.record.slice(0, n) };
  }

  private grow(): void {
    const widen = <T extends Float64Array | Int32Array>(x: T, make: (n: number) => T): T => {
      const y = make(x.length * 2);
      y.set(x);
      return y;
    };
    this.a = widen(this.a, (n) => new Float64Array(n));
    this.b = widen(this.b, (n) => new Float64Array(n));
    this.record = widen(this.record, (n) => new Int32Array(n));
    this.claims = widen(this.claims, (n) => new Float64Array(n));
  }
}

/** The held rows by fingerprint: open addressing over their first halves, no object per row. */
class PrintTable {
  private readonly slots: Int32Array;
  private readonly mask: number;

  constructor(private readonly held: HeldRows) {
    let size = 16;
    while (size < held.a.length * 2) size *= 2;
    this.slots = new Int32Array(size);
    this.mask = size - 1;
    for (let h = 0; h < held.a.length; h++) {
      let s = this.slot(held.a[h]!);
      while (this.slots[s] !== 0) s = (s + 1) & this.mask;
      this.slots[s] = h + 1;
    }
  }

  /** A held row with this fingerprint, or -1. */
  find(a: number, b: number): number {
    const { held } = this;
    for (let s = this.slot(a); this.slots[s] !== 0; s = (s + 1) & this.mask) {
      const h = this.slots[s]! - 1;
      if (held.a[h] === a && held.b[h] === b) return h;
    }
    return -1;
  }

  private slot(a: number): number {
    // The low 32 bits of a 53-bit fingerprint are as well mixed as the rest.
    return (a >>> 0) & this.mask;
  }
}
