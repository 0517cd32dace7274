// The row contract of the billing query: which columns it must give, how each value is read,
// and which rows are rejected (with where and why) instead of aborting the pass.
import { z } from 'zod';
import type { BillingRecord, RejectedItem } from '../domain/types.js';

/** Columns every billing query must return. */
export const REQUIRED_COLUMNS = ['vm_id', 'user_id'] as const;
/** Columns a billing query may return. */
export const OPTIONAL_COLUMNS = ['source', 'billing_id', 'status', 'os', 'name'] as const;
type ContractColumn = (typeof REQUIRED_COLUMNS)[number] | (typeof OPTIONAL_COLUMNS)[number];
const CONTRACT_COLUMNS: readonly ContractColumn[] = [...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS];

/** `status` values (compared case-insensitively, trimmed) that mean the service is suspended. */
export const SUSPENDED_STATUSES: readonly string[] = ['suspended', 'blocked', 'frozen', 'unpaid'];

/** One result row: its values in result-column order (every driver is asked for arrays: no object per row). */
export type ResultRow = readonly unknown[];

/** Which result column (by position) carries each contract column. */
export type ColumnIndex = ReadonlyMap<ContractColumn, number>;

/** A contract column that more than one result column names (1-based positions, as the names are spelled). */
export interface DuplicateColumn {
  readonly column: ContractColumn;
  readonly positions: readonly number[];
  readonly names: readonly string[];
}

/**
 * Which result column carries each contract column (matched case-insensitively), which required
 * ones are absent, and which are named by more than one result column. A duplicate is never
 * resolved by picking one: `SELECT sv.*, l.sso_id AS user_id` over a table with its own `user_id`
 * gives two, and whichever we picked could be the shop's id instead of the panel's — every VM would
 * change owner. Case variants count too (`user_id` from `sv.*` next to `AS USER_ID`, which MySQL
 * and SQLite keep as written): preferring the exact spelling would pick the table's column there.
 */
export function resolveColumns(columns: readonly string[]): { map: Map<ContractColumn, number>; missing: string[]; duplicates: DuplicateColumn[] } {
  const map = new Map<ContractColumn, number>();
  const duplicates: DuplicateColumn[] = [];
  for (const wanted of CONTRACT_COLUMNS) {
    const positions: number[] = [];
    columns.forEach((c, i) => {
      if (c.toLowerCase() === wanted) positions.push(i);
    });
    if (positions.length === 1) map.set(wanted, positions[0]!);
    else if (positions.length > 1) {
      duplicates.push({ column: wanted, positions: positions.map((i) => i + 1), names: positions.map((i) => columns[i]!) });
    }
  }
  // A duplicated required column is reported as a duplicate, not as missing.
  const missing = REQUIRED_COLUMNS.filter((c) => !map.has(c) && !duplicates.some((d) => d.column === c));
  return { map, missing, duplicates };
}

/** Drivers hand text back as Buffer for binary columns; read it as UTF-8. */
function asText(v: unknown): unknown {
  return v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v;
}

/** A short, safe rendering of a bad value for a rejection message. */
function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return 'a date';
  return `a value of type ${typeof v}`;
}

const DECIMAL = /^\d+$/;
const VSPHERE_ID = /^vm-\d+$/;

/** A positive integer from a number, bigint or decimal string, as a canonical decimal string; undefined otherwise. */
function positiveDecimal(v: unknown): string | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v > 0 ? String(v) : undefined;
  if (typeof v === 'bigint') return v > 0n ? v.toString() : undefined;
  if (typeof v === 'string') {
    const s = v.trim();
    if (!DECIMAL.test(s)) return undefined;
    const n = BigInt(s);
    return n > 0n ? n.toString() : undefined;
  }
  return undefined;
}

type Ctx = z.core.$RefinementCtx<unknown>;
function fail(ctx: Ctx, message: string): never {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER;
}

/** `vm_id`: a Proxmox VMID (positive integer in any spelling) or a vSphere id (`vm-1003`), as a string. */
export const vmIdSchema = z.unknown().transform((raw, ctx): string => {
  const v = asText(raw);
  if (v === null || v === undefined) return fail(ctx, 'is null');
  if (typeof v === 'string' && v.trim() === '') return fail(ctx, 'is empty');
  if (typeof v === 'string' && VSPHERE_ID.test(v.trim())) return v.trim();
  return positiveDecimal(v) ?? fail(ctx, `is not a positive integer or a vSphere id (vm-123): ${show(v)}`);
});

/** `user_id`: the panel's SSO user id, a positive integer in any spelling, as a number. */
export const userIdSchema = z.unknown().transform((raw, ctx): number => {
  const v = asText(raw);
  if (v === null || v === undefined) return fail(ctx, 'is null');
  if (typeof v === 'string' && v.trim() === '') return fail(ctx, 'is empty');
  const s = positiveDecimal(v);
  if (s === undefined) return fail(ctx, `is not a positive integer: ${show(v)}`);
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : fail(ctx, `is too large: ${s}`);
});

/** An optional text column: null, absent and empty (after trimming) all mean null. */
const optionalText = z.unknown().transform((raw, ctx): string | null => {
  const v = asText(raw);
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v.trim() === '' ? null : v.trim();
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return fail(ctx, `is not text: ${show(v)}`);
});

/**
 * Longest `name`/`os` accepted, the limit the hypervisor schemas put on a VM name
 * (sources/proxmox/schema.ts LIMITS.maxNameLength, sources/vmware/schema.ts): the panel stores
 * both in columns sized for it, and a longer value makes the create fail on the panel's side,
 * which the daemon can only treat as ambiguous.
 */
export const MAX_LABEL_LENGTH = 255;
// C0, DEL and C1, as sources/proxmox/schema.ts: an ANSI escape or a line break in a customer's
// name would reach the panel and every terminal and log that shows it.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

/** `name` and `os`: optional text, bounded like a hypervisor's VM name (the text itself is never quoted back). */
const labelText = optionalText.transform((v, ctx): string | null => {
  if (v === null) return null;
  if (v.length > MAX_LABEL_LENGTH) return fail(ctx, `is ${v.length} characters long (limit ${MAX_LABEL_LENGTH})`);
  if (CONTROL_CHARS.test(v)) return fail(ctx, 'contains control characters');
  return v;
});

/**
 * `billing_id`: any scalar, as a string (binary ids as hex, so they stay readable). It is shown in
 * reports, logs and `plan` on a terminal, so it gets the limits of `name`: a line break or an ANSI
 * escape in it would forge or hide output. A bad one is never quoted back.
 */
const billingIdSchema = z.unknown().transform((v, ctx): string | null => {
  let text: string | null;
  if (v === null || v === undefined) return null;
  if (v instanceof Uint8Array) text = v.length === 0 ? null : Buffer.from(v).toString('hex');
  else if (typeof v === 'string') text = v.trim() === '' ? null : v.trim();
  else if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') text = String(v);
  else if (v instanceof Date) text = v.toISOString();
  else return fail(ctx, `is not a scalar: ${show(v)}`);
  if (text === null) return null;
  if (text.length > MAX_LABEL_LENGTH) return fail(ctx, `is ${text.length} characters long (limit ${MAX_LABEL_LENGTH})`);
  if (CONTROL_CHARS.test(text)) return fail(ctx, 'contains control characters');
  return text;
});

/** What a non-text `status` was given as, for its rejection. */
function typeOf(v: unknown): string {
  if (typeof v === 'boolean') return `a boolean (${v})`;
  if (typeof v === 'number' || typeof v === 'bigint') return `a number (${v})`;
  if (v instanceof Date) return 'a date';
  return `a value of type ${typeof v}`;
}

/**
 * `status`: text; only the suspended words matter, anything else (or nothing) means "not
 * suspended". A flag (PostgreSQL boolean, MySQL TINYINT(1)) is refused rather than read: `true`
 * most likely means "blocked", and taking it for "not suspended" would lift a suspension silently.
 */
const suspendedSchema = z.unknown().transform((raw, ctx): boolean => {
  const v = asText(raw);
  if (v === null || v === undefined) return false;
  if (typeof v !== 'string') {
    return fail(ctx, `is ${typeOf(v)}, expected text such as 'suspended' or 'active' (map a flag to a word, e.g. CASE WHEN blocked THEN 'suspended' END AS status)`);
  }
  return SUSPENDED_STATUSES.includes(v.trim().toLowerCase());
});

/** One row of the contract, keyed by contract column names. */
export const billingRowSchema = z.object({
  vm_id: vmIdSchema,
  user_id: userIdSchema,
  source: optionalText,
  billing_id: billingIdSchema,
  status: suspendedSchema,
  os: labelText,
  name: labelText,
});

/** An optional text value the common way (text, number or null); undefined means "let the schema decide". */
function quickText(v: unknown): string | null | undefined {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') {
    const t = v.trim();
    return t === '' ? null : t;
  }
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return undefined;
}

/** `quickText` for `name`/`os`/`billing_id`: undefined (the schema words it) when too long or holding a control character. */
function quickLabel(v: unknown): string | null | undefined {
  const t = quickText(v);
  // Every name and os is scanned once for control characters; billing-bench put the check at
  // ~5-7 ms per 100,000 rows, and only rows that changed are mapped at all (row-delta.ts).
  if (typeof t === 'string' && (t.length > MAX_LABEL_LENGTH || CONTROL_CHARS.test(t))) return undefined;
  return t;
}

/** Column positions of one result, -1 for a contract column the query does not return. */
interface Positions {
  readonly vmId: number;
  readonly userId: number;
  readonly source: number;
  readonly billingId: number;
  readonly status: number;
  readonly os: number;
  readonly name: number;
}

function positionsOf(columns: ColumnIndex): Positions {
  const at = (c: ContractColumn): number => columns.get(c) ?? -1;
  return { vmId: at('vm_id'), userId: at('user_id'), source: at('source'), billingId: at('billing_id'), status: at('status'), os: at('os'), name: at('name') };
}

/**
 * The same rules as `billingRowSchema` for the values drivers usually return (numbers, bigints,
 * plain text), hand-written: zod costs ~3 µs a row, which is most of a 100,000-row pass. Returns
 * undefined for anything else; the schema then decides and words the problem.
 */
function quickRecord(row: ResultRow, at: Positions, shared: Map<string, string>): BillingRecord | undefined {
  const rawVm = row[at.vmId];
  let vmId: string;
  if (typeof rawVm === 'bigint' && rawVm > 0n) vmId = rawVm.toString();
  else if (typeof rawVm === 'number' && Number.isSafeInteger(rawVm) && rawVm > 0) vmId = String(rawVm);
  else if (typeof rawVm === 'string' && VSPHERE_ID.test(rawVm)) vmId = rawVm;
  else return undefined;
  const rawUser = row[at.userId];
  let userId: number;
  if (typeof rawUser === 'bigint' && rawUser > 0n && rawUser <= MAX_SAFE) userId = Number(rawUser);
  else if (typeof rawUser === 'number' && Number.isSafeInteger(rawUser) && rawUser > 0) userId = rawUser;
  else return undefined;
  const source = at.source < 0 ? null : quickText(row[at.source]);
  const billingId = at.billingId < 0 ? null : quickLabel(row[at.billingId]);
  const os = at.os < 0 ? null : quickLabel(row[at.os]);
  const name = at.name < 0 ? null : quickLabel(row[at.name]);
  if (source === undefined || billingId === undefined || os === undefined || name === undefined) return undefined;
  const status = at.status < 0 ? null : row[at.status];
  // Binary text, and anything but text (refused), is the schema's.
  if (status !== null && status !== undefined && typeof status !== 'string') return undefined;
  const suspended = typeof status === 'string' && SUSPENDED_STATUSES.includes(status.trim().toLowerCase());
  return { billingId, vmId, source: intern(source, shared), userId, suspended, os: intern(os, shared), name };
}

/** One copy of a value many rows repeat (a handful of OS names and sources over 100,000 rows): the records live through the whole pass. */
function intern(text: string | null, shared: Map<string, string>): string | null {
  if (text === null) return null;
  const known = shared.get(text);
  if (known !== undefined) return known;
  shared.set(text, text);
  return text;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A row the quick path did not take: checked by the schema, with the texts a rejection needs. */
interface SlowRow {
  readonly where: string;
  readonly billingId: string | null;
  /** `(source, vm_id)` as text for a duplicate message; '' when unreadable. */
  readonly keyText: string;
  readonly record?: BillingRecord;
  readonly problem?: string;
  /** The VM the row is about, when readable: its owner becomes unknown rather than "nobody". */
  readonly vmId?: string;
  readonly source?: string | null;
}

function slowRow(row: ResultRow, at: Positions, i: number): SlowRow {
  const value = (p: number): unknown => (p < 0 ? null : row[p]);
  const contract = {
    vm_id: value(at.vmId),
    user_id: value(at.userId),
    source: value(at.source),
    billing_id: value(at.billingId),
    status: value(at.status),
    os: value(at.os),
    name: value(at.name),
  };
  const billingId = billingIdSchema.safeParse(contract.billing_id);
  const vmId = vmIdSchema.safeParse(contract.vm_id);
  const source = optionalText.safeParse(contract.source);
  const shownId = billingId.success ? billingId.data : null;
  const where =
    shownId !== null
      ? `billing row ${i + 1} (billing_id ${shownId})`
      : vmId.success
        ? `billing row ${i + 1} (vm_id ${vmId.data})`
        : `billing row ${i + 1}`;
  const keyText = vmId.success && source.success ? `(${source.data ?? 'any source'}, ${vmId.data})` : '';
  // A bad row still claims its VM (see mapRows): keep what is readable of the key.
  const about = vmId.success && source.success ? { vmId: vmId.data, source: source.data } : vmId.success ? { vmId: vmId.data, source: null } : {};
  const result = billingRowSchema.safeParse(contract);
  if (!result.success) {
    const problem = result.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`).join('; ');
    return { where, billingId: shownId, keyText, problem, ...about };
  }
  const d = result.data;
  const record: BillingRecord = { billingId: d.billing_id, vmId: d.vm_id, source: d.source, userId: d.user_id, suspended: d.status, os: d.os, name: d.name };
  return { where, billingId: shownId, keyText, record, vmId: d.vm_id, source: d.source };
}

/** One row read on its own: its record when the quick path took it, else what the schema made of it. */
export type RowReading = BillingRecord | SlowRow;

const isSlow = (r: RowReading): r is SlowRow => (r as SlowRow).where !== undefined;

/** Reads rows one at a time (row `i` of a result with these columns); repeated values are shared between its records. */
export class RowReader {
  private readonly at: Positions;
  private readonly shared = new Map<string, string>();

  constructor(columns: ColumnIndex) {
    this.at = positionsOf(columns);
  }

  read(row: ResultRow, i: number): RowReading {
    return quickRecord(row, this.at, this.shared) ?? slowRow(row, this.at, i);
  }
}

/** The VM a row claims for the duplicate check, when both parts of its key are readable (bad rows claim too). */
export function claimOf(r: RowReading): { readonly vmId: string; readonly source: string | null } | undefined {
  if (!isSlow(r)) return r;
  return r.keyText === '' || r.vmId === undefined || r.source === undefined ? undefined : { vmId: r.vmId, source: r.source };
}

/**
 * Row `i` when no other row claims its VM: its record is pushed to `records`, or why it is
 * rejected to `rejected`. Returns whether it gave a record.
 */
export function settleRow(r: RowReading, i: number, records: BillingRecord[], rejected: RejectedItem[]): boolean {
  if (!isSlow(r)) {
    records.push(r);
    return true;
  }
  if (r.problem === undefined && r.record) {
    records.push(r.record);
    return true;
  }
  rejected.push(rejection(r, i, undefined));
  return false;
}

/** Why row `i` is not used: its own problem, the duplicate claim (`duplicate`), or both. */
function rejection(r: RowReading, i: number, duplicate: string | undefined): RejectedItem {
  const slow = isSlow(r) ? r : undefined;
  const record = slow ? undefined : (r as BillingRecord);
  const where = record
    ? record.billingId !== null
      ? `billing row ${i + 1} (billing_id ${record.billingId})`
      : `billing row ${i + 1} (vm_id ${record.vmId})`
    : slow!.where;
  const problems = [slow?.problem, duplicate].filter((x): x is string => x !== undefined);
  const vmId = record?.vmId ?? slow?.vmId;
  const source = record ? record.source : (slow?.source ?? null);
  return { where, problem: problems.join('; '), ...(vmId !== undefined ? { vmId, source } : {}) };
}

/**
 * Maps raw driver rows to records; bad and duplicate rows come back in `rejected`, never as an
 * exception. Runs every pass over every billed VM, so the usual row costs one record and one map
 * entry: no wrapper object and no key string per row. With `rowRecord`, also says for each row
 * which record it gave (its index in `records`), or -1.
 */
export function mapRows(rows: Iterable<ResultRow>, columns: ColumnIndex, rowRecord?: number[]): { records: BillingRecord[]; rejected: RejectedItem[] } {
  const reader = new RowReader(columns);
  // Rows are read once, in order (a driver may hand them over one at a time); what pass two needs is kept here.
  const readings: RowReading[] = [];
  // First row claiming each (source, vm_id): rows without a source in one map, the others per source.
  const firstWithoutSource = new Map<string, number>();
  const firstBySource = new Map<string, Map<string, number>>();
  // For each row of a (source, vm_id) claimed more than once: every row of that claim.
  const groupOf = new Map<number, number[]>();

  let i = -1;
  for (const row of rows) {
    i++;
    const reading = reader.read(row, i);
    readings.push(reading);
    const claim = claimOf(reading);
    if (claim === undefined) continue;
    let firsts = firstWithoutSource;
    if (claim.source !== null) {
      firsts = firstBySource.get(claim.source) ?? new Map<string, number>();
      if (firsts.size === 0) firstBySource.set(claim.source, firsts);
    }
    const first = firsts.get(claim.vmId);
    if (first === undefined) {
      firsts.set(claim.vmId, i);
      continue;
    }
    let group = groupOf.get(first);
    if (!group) {
      group = [first];
      groupOf.set(first, group);
    }
    group.push(i);
    groupOf.set(i, group);
  }

  const records: BillingRecord[] = [];
  const rejected: RejectedItem[] = [];
  for (let i = 0; i < readings.length; i++) {
    const reading = readings[i]!;
    const group = groupOf.size === 0 ? undefined : groupOf.get(i);
    if (group === undefined) {
      const gave = settleRow(reading, i, records, rejected);
      rowRecord?.push(gave ? records.length - 1 : -1);
      continue;
    }
    // Several rows claim the same VM: we cannot know which is right, so none is used.
    const claim = claimOf(reading)!;
    const keyText = `(${claim.source ?? 'any source'}, ${claim.vmId})`;
    const duplicate = `duplicate (source, vm_id) ${keyText}: ${group.length} rows claim it (${group
      .map((g) => {
        const id = readings[g]!.billingId;
        return id !== null ? `billing_id ${id}` : `row ${g + 1}`;
      })
      .join(', ')}); none is used`;
    rejected.push(rejection(reading, i, duplicate));
    rowRecord?.push(-1);
  }
  return { records, rejected };
}
