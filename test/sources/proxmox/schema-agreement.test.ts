// The hand-written fast check and the zod schema must accept exactly the same entries and
// produce the same value, or the fast path would let through what the schema forbids.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { guestEntrySchema, LIMITS, quickGuestEntry } from '../../../src/sources/proxmox/schema.js';

const junk = fc.oneof(fc.constant(undefined), fc.constant(null), fc.boolean(), fc.string({ maxLength: 5 }), fc.constant({}), fc.constant([]));
const num = (edges: number[]) => fc.oneof(fc.constantFrom(...edges), fc.double({ noNaN: true }), fc.integer(), junk);

const entry = fc.record(
  {
    vmid: num([99, 100, 101, 999_999_999, 1_000_000_000, 100.5, -100]),
    type: fc.oneof(fc.constantFrom('qemu', 'lxc', 'node', 'QEMU'), junk),
    node: fc.oneof(fc.constantFrom('pve', '', 'n'.repeat(255), 'n'.repeat(256)), junk),
    name: fc.oneof(fc.constantFrom('vm', '', 'a'.repeat(255), 'a'.repeat(256), 'x\u0000y', 'tab\tname', 'del\u007f', 'ünï'), fc.string({ maxLength: 8 }), junk),
    status: fc.oneof(fc.constantFrom('running', 'stopped', 'paused', 'unknown'), junk),
    template: fc.oneof(fc.constantFrom(0, 1, 2, '1', true), junk),
    maxcpu: num([0, 0.5, 1, 1024, 1024.5, 1025, -1]),
    maxmem: num([0, 1, LIMITS.maxMemBytes, LIMITS.maxMemBytes + 1, 2 ** 60, 1.5, -1]),
    maxdisk: num([0, 1, LIMITS.maxDiskBytes, LIMITS.maxDiskBytes + 1, 2 ** 62, 0.5, -1]),
    lock: fc.oneof(fc.constantFrom('create', 'backup', 'l'.repeat(1024), 'l'.repeat(1025)), junk),
    tags: fc.oneof(fc.constantFrom('a;b', ''), junk),
    pool: fc.oneof(fc.constantFrom('pool1'), junk),
    hastate: fc.oneof(fc.constantFrom('started'), junk),
    extra: fc.oneof(fc.integer(), fc.string()),
  },
  { requiredKeys: [] },
);

/** Mostly-valid entries, so the "both accept" side is exercised as much as the "both reject" one. */
const nearlyValid = fc
  .record({
    vmid: fc.integer({ min: 100, max: 999_999_999 }),
    type: fc.constantFrom('qemu', 'lxc'),
    node: fc.constantFrom('pve1', 'pve2'),
    name: fc.string({ minLength: 1, maxLength: 20 }),
    status: fc.constantFrom('running', 'stopped', 'paused'),
    maxcpu: fc.double({ min: 0.1, max: 1024, noNaN: true }),
    maxmem: fc.integer({ min: 1, max: 2 ** 40 }),
    maxdisk: fc.integer({ min: 0, max: 2 ** 45 }),
  })
  .chain((base) => fc.tuple(fc.constant(base), fc.constantFrom(...Object.keys(base)), junk))
  .map(([base, key, value]) => ({ ...base, [key]: value }));

function agree(e: Record<string, unknown>): void {
  const zod = guestEntrySchema.safeParse(e);
  const quick = quickGuestEntry(e);
  expect(quick !== undefined).toBe(zod.success);
  if (zod.success) expect(quick).toEqual(zod.data);
}

describe('quickGuestEntry agrees with guestEntrySchema', () => {
  it('on arbitrary entries', () => {
    fc.assert(fc.property(entry, (e) => agree(e as Record<string, unknown>)), { numRuns: 3000 });
  });
  it('on valid entries and valid entries with one field broken', () => {
    fc.assert(fc.property(nearlyValid, (e) => agree(e)), { numRuns: 3000 });
  });
});
