// What a `/cluster/resources?type=vm` answer must look like: permissive about fields Proxmox
// adds, strict about the ones we use, with limits that catch garbage before it reaches the panel.
import { z } from 'zod';

const TIB = 1024 ** 4;
const PIB = 1024 ** 5;
/** Above these a value is garbage, not a VM (the panel would believe it). */
export const LIMITS = { maxMemBytes: 64 * TIB, maxDiskBytes: PIB, maxCpu: 1024, maxNameLength: 255 } as const;

// eslint-disable-next-line no-control-regex
export const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

const optionalText = z.string().max(1024, 'is longer than 1024 characters').optional();

/** One guest entry of `/cluster/resources`; fields Proxmox adds are accepted and dropped. */
export const guestEntrySchema = z.object({
  vmid: z
    .number({ error: (i) => (i.input === undefined ? 'is missing' : `must be a number, got ${typeof i.input}`) })
    .int('must be an integer')
    .min(100, 'must be ≥ 100')
    .max(999_999_999, 'must be ≤ 999999999'),
  type: z.enum(['qemu', 'lxc'], { error: 'must be "qemu" or "lxc"' }),
  node: z.string({ error: 'must be a string (node name)' }).min(1, 'must not be empty').max(255, 'is longer than 255 characters'),
  name: z
    .string({ error: 'must be a string' })
    .min(1, 'must not be empty')
    .max(LIMITS.maxNameLength, { error: (i) => `is ${String((i.input as string).length)} characters long (limit ${LIMITS.maxNameLength})` })
    .refine((v) => !CONTROL_CHARS.test(v), 'contains control characters'),
  status: z.enum(['running', 'stopped', 'paused'], {
    error: (i) => `must be running, stopped or paused, got ${JSON.stringify(String(i.input)).slice(0, 40)}`,
  }),
  template: z.union([z.literal(0), z.literal(1)], { error: 'must be 0 or 1' }).optional(),
  maxcpu: z
    .number({ error: 'must be a number' })
    .positive('must be positive')
    .max(LIMITS.maxCpu, `must be ≤ ${LIMITS.maxCpu} cores`),
  maxmem: z
    .number({ error: 'must be a number of bytes' })
    .positive('must be positive')
    .max(LIMITS.maxMemBytes, 'is more than 64 TiB')
    .int('must be a whole number of bytes'),
  maxdisk: z
    .number({ error: 'must be a number of bytes' })
    .nonnegative('must not be negative')
    .max(LIMITS.maxDiskBytes, 'is more than 1 PiB')
    .int('must be a whole number of bytes'),
  lock: optionalText,
  tags: optionalText,
  pool: optionalText,
  hastate: optionalText,
});
export type GuestEntry = z.infer<typeof guestEntrySchema>;

/** What the proxmox-api client hands back for the listing: the unwrapped `data` array. */
export const guestListSchema = z.array(z.unknown(), {
  error: (i) => `"data" must be a list of guests, got ${i.input === null ? 'null' : Array.isArray(i.input) ? 'array' : typeof i.input}`,
});

const STATUSES = new Set(['running', 'stopped', 'paused']);
const optionalShort = (v: unknown) => v === undefined || (typeof v === 'string' && v.length <= 1024);

/**
 * The same rules as `guestEntrySchema`, hand-written: ~50x faster, which matters at 100,000
 * guests per pass (zod takes ~0.7 s there). False for anything it does not accept; zod then
 * decides and words the problem. A property test keeps the two in agreement.
 */
export function isQuickGuestEntry(raw: Record<string, unknown>): boolean {
  const { vmid, type, node, name, status, template, maxcpu, maxmem, maxdisk, lock, tags, pool, hastate } = raw;
  if (typeof vmid !== 'number' || !Number.isInteger(vmid) || vmid < 100 || vmid > 999_999_999) return false;
  if (type !== 'qemu' && type !== 'lxc') return false;
  if (typeof node !== 'string' || node.length < 1 || node.length > 255) return false;
  if (typeof name !== 'string' || name.length < 1 || name.length > LIMITS.maxNameLength || CONTROL_CHARS.test(name)) return false;
  if (typeof status !== 'string' || !STATUSES.has(status)) return false;
  if (template !== undefined && template !== 0 && template !== 1) return false;
  if (typeof maxcpu !== 'number' || !Number.isFinite(maxcpu) || maxcpu <= 0 || maxcpu > LIMITS.maxCpu) return false;
  if (typeof maxmem !== 'number' || !Number.isInteger(maxmem) || maxmem <= 0 || maxmem > LIMITS.maxMemBytes) return false;
  if (typeof maxdisk !== 'number' || !Number.isInteger(maxdisk) || maxdisk < 0 || maxdisk > LIMITS.maxDiskBytes) return false;
  return optionalShort(lock) && optionalShort(tags) && optionalShort(pool) && optionalShort(hastate);
}

/** `isQuickGuestEntry`, returning the entry exactly as zod would (only the known keys that are present), or undefined. */
export function quickGuestEntry(raw: Record<string, unknown>): GuestEntry | undefined {
  if (!isQuickGuestEntry(raw)) return undefined;
  const { vmid, type, node, name, status, template, maxcpu, maxmem, maxdisk, lock, tags, pool, hastate } = raw as GuestEntry;
  const entry: GuestEntry = { vmid, type, node, name, status, maxcpu, maxmem, maxdisk };
  // Only present keys, exactly like zod's output.
  if (template !== undefined) entry.template = template;
  if (lock !== undefined) entry.lock = lock;
  if (tags !== undefined) entry.tags = tags;
  if (pool !== undefined) entry.pool = pool;
  if (hastate !== undefined) entry.hastate = hastate;
  return entry;
}

/** Validates one entry; the problem text names every bad field without echoing huge values. */
export function parseGuestEntry(raw: unknown): { ok: true; entry: GuestEntry } | { ok: false; problem: string } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, problem: `entry is ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}, not an object` };
  }
  const quick = quickGuestEntry(raw as Record<string, unknown>);
  if (quick) return { ok: true, entry: quick };
  const result = guestEntrySchema.safeParse(raw);
  if (result.success) return { ok: true, entry: result.data };
  // One problem per field: the first check that failed (limits come before `int`, because
  // zod calls 2^60 "not an integer" — it is past Number.MAX_SAFE_INTEGER).
  const byField = new Map<string, string>();
  for (const issue of result.error.issues) {
    const field = issue.path.join('.') || 'entry';
    if (!byField.has(field)) byField.set(field, `${field} ${issue.message}`);
  }
  return { ok: false, problem: [...byField.values()].join('; ') };
}

/** A short, printable label for an entry (`qemu/104`), even when the entry is garbage. */
export function describeEntry(raw: unknown, index: number): string {
  const e = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const safe = (v: unknown): string | undefined =>
    (typeof v === 'string' || typeof v === 'number') && String(v).length <= 40 && !CONTROL_CHARS.test(String(v)) ? String(v) : undefined;
  const id = safe(e.id);
  if (id) return id;
  const type = safe(e.type);
  const vmid = safe(e.vmid);
  if (type && vmid) return `${type}/${vmid}`;
  return `entry #${index}`;
}
