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

/** Which result column carries each contract column (matched case-insensitively), and which required ones are absent. */
export function resolveColumns(columns: readonly string[]): { map: Map<ContractColumn, string>; missing: string[] } {
  const map = new Map<ContractColumn, string>();
  for (const wanted of CONTRACT_COLUMNS) {
    // An exact match wins over a case-insensitive one (MySQL keeps alias case, PostgreSQL folds it).
    const found = columns.find((c) => c === wanted) ?? columns.find((c) => c.toLowerCase() === wanted);
    if (found !== undefined) map.set(wanted, found);
  }
  return { map, missing: REQUIRED_COLUMNS.filter((c) => !map.has(c)) };
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

/** `billing_id`: any scalar, as a string (binary ids as hex, so they stay readable). */
const billingIdSchema = z.unknown().transform((v, ctx): string | null => {
  if (v === null || v === undefined) return null;
  if (v instanceof Uint8Array) return v.length === 0 ? null : Buffer.from(v).toString('hex');
  if (typeof v === 'string') return v.trim() === '' ? null : v.trim();
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return v.toISOString();
  return fail(ctx, `is not a scalar: ${show(v)}`);
});

/** `status`: only the suspended words matter; anything else (or nothing) means "not suspended". */
const suspendedSchema = z.unknown().transform((raw): boolean => {
  const v = asText(raw);
  return typeof v === 'string' && SUSPENDED_STATUSES.includes(v.trim().toLowerCase());
});

/** One row of the contract, keyed by contract column names. */
export const billingRowSchema = z.object({
  vm_id: vmIdSchema,
  user_id: userIdSchema,
  source: optionalText,
  billing_id: billingIdSchema,
  status: suspendedSchema,
  os: optionalText,
  name: optionalText,
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

/**
 * The same rules as `billingRowSchema` for the values drivers usually return (numbers, bigints,
 * plain text), hand-written: zod costs ~3 µs a row, which is most of a 100,000-row pass. Returns
 * undefined for anything else; the schema then decides and words the problem.
 */
function quickRecord(row: Record<string, unknown>, columns: Map<ContractColumn, string>): BillingRecord | undefined {
  const get = (c: ContractColumn): unknown => {
    const actual = columns.get(c);
    return actual === undefined ? null : row[actual];
  };
  const rawVm = get('vm_id');
  let vmId: string;
  if (typeof rawVm === 'bigint' && rawVm > 0n) vmId = rawVm.toString();
  else if (typeof rawVm === 'number' && Number.isSafeInteger(rawVm) && rawVm > 0) vmId = String(rawVm);
  else if (typeof rawVm === 'string' && VSPHERE_ID.test(rawVm)) vmId = rawVm;
  else return undefined;
  const rawUser = get('user_id');
  let userId: number;
  if (typeof rawUser === 'bigint' && rawUser > 0n && rawUser <= BigInt(Number.MAX_SAFE_INTEGER)) userId = Number(rawUser);
  else if (typeof rawUser === 'number' && Number.isSafeInteger(rawUser) && rawUser > 0) userId = rawUser;
  else return undefined;
  const source = quickText(get('source'));
  const billingId = quickText(get('billing_id'));
  const os = quickText(get('os'));
  const name = quickText(get('name'));
  if (source === undefined || billingId === undefined || os === undefined || name === undefined) return undefined;
  const status = get('status');
  if (status instanceof Uint8Array) return undefined;
  const suspended = typeof status === 'string' && SUSPENDED_STATUSES.includes(status.trim().toLowerCase());
  return { billingId, vmId, source, userId, suspended, os, name };
}

/** Maps raw driver rows to records; bad and duplicate rows come back in `rejected`, never as an exception. */
export function mapRows(
  rows: readonly Record<string, unknown>[],
  columns: Map<ContractColumn, string>,
): { records: BillingRecord[]; rejected: RejectedItem[] } {
  interface Parsed {
    readonly index: number;
    /** Row label for a rejection; absent for rows that parsed (built only if one is a duplicate). */
    readonly where?: string;
    readonly billingId: string | null;
    readonly key: string | undefined;
    /** `(source, vm_id)` for a duplicate message; absent for rows that parsed. */
    readonly keyText?: string;
    readonly record?: BillingRecord;
    readonly problem?: string;
    /** The VM the row is about, when readable: its owner becomes unknown rather than "nobody". */
    readonly vmId?: string;
    readonly source?: string | null;
  }
  const parsed: Parsed[] = rows.map((row, i) => {
    const quick = quickRecord(row, columns);
    if (quick) {
      // Messages are only needed if this row turns out to be a duplicate: built then (whereOf, keyTextOf).
      return { index: i, billingId: quick.billingId, key: `${quick.source ?? ''}\u0000${quick.vmId}`, record: quick, vmId: quick.vmId, source: quick.source };
    }
    // Every contract column is present, null when the query does not return it.
    const contract: Record<string, unknown> = {};
    for (const wanted of CONTRACT_COLUMNS) {
      const actual = columns.get(wanted);
      contract[wanted] = actual === undefined ? null : row[actual];
    }
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
    // The duplicate key is computed even for otherwise bad rows: a bad row still claims the VM.
    const key = vmId.success && source.success ? `${source.data ?? ''}\u0000${vmId.data}` : undefined;
    const keyText = vmId.success && source.success ? `(${source.data ?? 'any source'}, ${vmId.data})` : '';
    const result = billingRowSchema.safeParse(contract);
    if (!result.success) {
      const problem = result.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`).join('; ');
      const about = vmId.success ? { vmId: vmId.data, source: source.success ? source.data : null } : {};
      return { index: i, where, billingId: shownId, key, keyText, problem, ...about };
    }
    const d = result.data;
    const record: BillingRecord = {
      billingId: d.billing_id,
      vmId: d.vm_id,
      source: d.source,
      userId: d.user_id,
      suspended: d.status,
      os: d.os,
      name: d.name,
    };
    return { index: i, where, billingId: shownId, key, keyText, record, vmId: d.vm_id, source: d.source };
  });

  // Rows per (source, vm_id), kept only for keys that more than one row claims.
  const firstByKey = new Map<string, Parsed>();
  const duplicates = new Map<string, Parsed[]>();
  for (const p of parsed) {
    if (p.key === undefined) continue;
    const first = firstByKey.get(p.key);
    if (first === undefined) {
      firstByKey.set(p.key, p);
      continue;
    }
    const group = duplicates.get(p.key);
    if (group) group.push(p);
    else duplicates.set(p.key, [first, p]);
  }
  const whereOf = (p: Parsed): string =>
    p.where ?? (p.billingId !== null ? `billing row ${p.index + 1} (billing_id ${p.billingId})` : `billing row ${p.index + 1} (vm_id ${p.vmId ?? ''})`);
  const keyTextOf = (p: Parsed): string => p.keyText ?? `(${p.source ?? 'any source'}, ${p.vmId ?? ''})`;

  const records: BillingRecord[] = [];
  const rejected: RejectedItem[] = [];
  for (const p of parsed) {
    const group = p.key === undefined || duplicates.size === 0 ? undefined : duplicates.get(p.key);
    if (group === undefined && p.problem === undefined) {
      if (p.record) records.push(p.record);
      continue;
    }
    // Several rows claim the same VM: we cannot know which is right, so none is used.
    const duplicate =
      group !== undefined
        ? `duplicate (source, vm_id) ${keyTextOf(p)}: ${group.length} rows claim it (${group
            .map((g) => (g.billingId !== null ? `billing_id ${g.billingId}` : `row ${g.index + 1}`))
            .join(', ')}); none is used`
        : undefined;
    const problems = [p.problem, duplicate].filter((x): x is string => x !== undefined);
    rejected.push({ where: whereOf(p), problem: problems.join('; '), ...(p.vmId !== undefined ? { vmId: p.vmId, source: p.source ?? null } : {}) });
  }
  return { records, rejected };
}
