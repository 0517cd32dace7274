// Billing faults for the chaos suite: all of billing unreadable for a while, or one VM's billing
// row broken for a while. Each fault is made and undone within its step, so the model knows exactly
// what the daemon must do while it lasts (README, "How it decides"; docs/billing.md):
// - billing unreadable: no creates, no deletes (checked per pass, billing-checks.ts); a VPS keeps its
//   owner, name, OS and suspension, and the hypervisor's facts (CPU, RAM, disk, power) still reach
//   the panel — what engine/pass.ts does (domain/plan.ts, refreshFromHypervisor; billing-expect.ts);
// - one VM's row rejected, left out of the query, or contradicted by a second row: that VM is neither
//   created nor deleted nor given to another customer, and its hypervisor facts still reach the panel
//   (the same refresh: its owner is unknown, not "nobody"). With the built-in query a second row
//   is a duplicate (both rejected), not `ambiguous_billing`, which needs a `source` column.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import fc from 'fast-check';
import type { World } from '../../support/world.js';
import { billingFaultProblems, passInside } from './billing-checks.js';
import { refreshProblems, settled, type FaultDriver } from './billing-expect.js';
import type { Bill, BillingFaultWindow, VmSpec } from './model.js';

export type { FaultDriver } from './billing-expect.js';

/**
 * billing.timeoutMs of the daemon under test: a SQLite writer's lock held longer than this makes a
 * pass's billing query time out (the default, 10 s, would make every lock fault take 10 s a pass).
 */
export const BILLING_TIMEOUT_MS = 300;

/** How billing becomes unreadable: each is a different failure (query, connect, timeout). */
export type OutageHow =
  /** `server` renamed away and back (a migration gone wrong): the query fails, reason `query`. */
  | 'renameTable'
  /** The file overwritten with zeros and then with its old bytes: not a database, reason `connect`. */
  | 'zeroFile'
  /** A writer holds an exclusive lock past billing.timeoutMs: reason `timeout`. */
  | 'lockPastTimeout';

/**
 * How one row is broken. user_id NULL is not among them: `server.userId` is NOT NULL in the main
 * site's layout and the built-in query reads it directly (there is no user.ssoId in this world).
 */
export type RowFaultHow =
  | 'userZero'
  | 'userNegative'
  | 'userText'
  | 'userFraction'
  | 'vmText'
  | 'vmNegative'
  /** proxmoxId NULL: the row is left out of the query, so the VM looks unbilled. */
  | 'vmNull'
  /** A second row for the same VM, another customer's: both are rejected as duplicates. */
  | 'secondRow';

/** A hypervisor change made while billing is unreadable (billing itself cannot be written then). */
export type OutageChange =
  | { readonly kind: 'none' }
  | { readonly kind: 'add'; readonly spec: VmSpec }
  | { readonly kind: 'remove' | 'hide' | 'power'; readonly i: number }
  | { readonly kind: 'resize'; readonly i: number; readonly cpu: number; readonly memMiB: number; readonly diskGiB: number };

export interface BillingOutageOp {
  readonly kind: 'billingOutage';
  readonly how: OutageHow;
  /** Passes run back to back while it lasts. */
  readonly passes: number;
  readonly change: OutageChange;
  /** SIGKILL and restart the daemon during it: a fresh process whose first pass cannot read billing. */
  readonly restart: boolean;
}

export interface BillRowFaultOp {
  readonly kind: 'billRowFault';
  readonly how: RowFaultHow;
  readonly i: number;
  /** The customer of the `secondRow`. */
  readonly otherUser: number;
  readonly passes: number;
  /** A change of the VM itself while its row is broken. */
  readonly change: 'none' | 'power' | 'resize';
  readonly resize: { readonly cpu: number; readonly memMiB: number; readonly diskGiB: number };
}

const indexArb = fc.nat(1000);
const resizeArb = fc.record({ i: indexArb, cpu: fc.integer({ min: 1, max: 16 }), memMiB: fc.constantFrom(1024, 3072, 8192), diskGiB: fc.integer({ min: 1, max: 800 }) });

/** `specs`: the scenario's VM specs (passed in: scenario.ts imports this module). */
export function billingOutageArb(specs: fc.Arbitrary<VmSpec>): fc.Arbitrary<BillingOutageOp> {
  return fc.record({
    kind: fc.constant('billingOutage' as const),
    how: fc.constantFrom<OutageHow>('renameTable', 'zeroFile', 'lockPastTimeout'),
    passes: fc.integer({ min: 1, max: 3 }),
    change: fc.oneof(
      { weight: 2, arbitrary: fc.constant<OutageChange>({ kind: 'none' }) },
      { weight: 3, arbitrary: specs.map((spec): OutageChange => ({ kind: 'add', spec })) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('remove' as const, 'hide' as const, 'power' as const), i: indexArb }) },
      { weight: 1, arbitrary: resizeArb.map((r): OutageChange => ({ kind: 'resize', ...r })) },
    ),
    restart: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
  });
}

export const billRowFaultArb: fc.Arbitrary<BillRowFaultOp> = fc.record({
  kind: fc.constant('billRowFault' as const),
  // secondRow twice: the one fault that takes the billing thread's read-twice path (docs/billing.md).
  how: fc.constantFrom<RowFaultHow>('userZero', 'userNegative', 'userText', 'userFraction', 'vmText', 'vmNegative', 'vmNull', 'secondRow', 'secondRow'),
  i: indexArb,
  otherUser: fc.integer({ min: 1, max: 6 }),
  passes: fc.integer({ min: 1, max: 3 }),
  change: fc.constantFrom<BillRowFaultOp['change']>('none', 'power', 'resize'),
  resize: resizeArb.map(({ cpu, memMiB, diskGiB }) => ({ cpu, memMiB, diskGiB })),
});

/** Overwrites the file in place, in one write and without truncating it, so a reader never sees it short or empty. */
function overwrite(path: string, bytes: Buffer): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, 0);
  } finally {
    closeSync(fd);
  }
}

/**
 * Makes billing unreadable; returns the undo. Zeros rather than random bytes: a reader that catches
 * the file half written sees a zero page, which SQLite always refuses (a random page could parse).
 */
function breakBilling(world: World, how: OutageHow): () => void {
  switch (how) {
    case 'renameTable':
      world.billingSql('ALTER TABLE "server" RENAME TO "server_away"');
      return () => world.billingSql('ALTER TABLE "server_away" RENAME TO "server"');
    case 'zeroFile': {
      const original = readFileSync(world.billingPath);
      const garbage = Buffer.alloc(original.length);
      garbage.write('not a database any more');
      overwrite(world.billingPath, garbage);
      // The world's own connection finds the same bytes as before afterwards, so its cache stays valid.
      return () => overwrite(world.billingPath, original);
    }
    case 'lockPastTimeout':
      world.billingSql('BEGIN EXCLUSIVE');
      return () => world.billingSql('COMMIT');
  }
}

/** Breaks the VM's billing row; returns the undo. */
function breakRow(world: World, vmid: number, bill: Bill, how: RowFaultHow, otherUser: number): () => void {
  const set = (column: string, value: string): void => world.billingSql(`UPDATE "server" SET "${column}" = ${value} WHERE "id" = ${bill.serverId}`);
  // A user id no `user` row has: the main site's foreign key would refuse it, a broken import would not.
  const setUser = (value: string): (() => void) => {
    world.billingSql('PRAGMA foreign_keys = OFF');
    try {
      set('userId', value);
    } finally {
      world.billingSql('PRAGMA foreign_keys = ON');
    }
    return () => set('userId', String(bill.userId));
  };
  const setVm = (value: string): (() => void) => {
    set('proxmoxId', value);
    return () => set('proxmoxId', String(vmid));
  };
  switch (how) {
    case 'userZero':
      return setUser('0');
    case 'userNegative':
      return setUser(String(-bill.userId));
    case 'userText':
      return setUser(`'${bill.userId}abc'`);
    case 'userFraction':
      return setUser(`${bill.userId}.5`);
    case 'vmText':
      return setVm(`'vm${vmid}'`);
    case 'vmNegative':
      return setVm(String(-vmid));
    case 'vmNull':
      return setVm('NULL');
    case 'secondRow': {
      const id = world.bill(vmid, otherUser, { osId: bill.osId });
      return () => world.billingSql(`DELETE FROM "server" WHERE "id" = ${id}`);
    }
  }
}

/** The fault's own properties, right away (the end of the case checks every fault again); then the refresh's. */
function checkWindow(d: FaultDriver, window: BillingFaultWindow, refresh: string | null): void {
  const passes = d.probe.finishedPasses();
  const inside = passes.filter((p) => passInside(p, window)).length;
  d.note(`… ${window.what} undone; ${inside} pass(es) ran entirely inside it`);
  const problems = billingFaultProblems(passes, d.world.panel.history(), [window]);
  if (problems.length > 0) throw new Error(`billing fault properties failed:\n  ${problems.join('\n  ')}`);
  if (refresh !== null) throw new Error(refresh);
}

/** Billing unreadable for a few passes, with a hypervisor change (and perhaps a restart) meanwhile. */
export async function runBillingOutage(op: BillingOutageOp, d: FaultDriver): Promise<void> {
  const { model } = d;
  // The order is paid before billing breaks; its VM appears while it is broken.
  const ordered = op.change.kind === 'add' ? model.orderVm(op.change.spec) : null;
  const watched = settled(d, model.present());
  const undo = breakBilling(d.world, op.how);
  const from = Date.now();
  const what = `billing unreadable (${op.how})`;
  d.note(what);
  let refresh: string | null = null;
  try {
    const c = op.change;
    if (c.kind === 'add') d.note(model.placeVm(ordered!, c.spec));
    else if (c.kind === 'remove') d.note(model.removeVm(c.i));
    else if (c.kind === 'hide') d.note(model.hideVm(c.i));
    else if (c.kind === 'power') d.note(model.togglePower(c.i));
    else if (c.kind === 'resize') d.note(model.resize(c.i, c.cpu, c.memMiB, c.diskGiB));
    if (op.restart) {
      await d.restart();
      d.note('daemon SIGKILLed and restarted while billing is unreadable');
    }
    d.note(`${await d.passes(op.passes)}/${op.passes} pass(es) ran`);
    refresh = await refreshProblems(d, watched, what);
  } finally {
    const to = Date.now();
    undo();
    model.billingFaults.push({ what, vmid: null, from, to, unconfirmedDelete: false });
  }
  checkWindow(d, model.billingFaults.at(-1)!, refresh);
}

/** One VM's billing row broken for a few passes, perhaps with a change of the VM meanwhile. */
export async function runBillRowFault(op: BillRowFaultOp, d: FaultDriver): Promise<void> {
  const { model } = d;
  const billed = model.present().filter((vmid) => model.bills.has(vmid) && !model.vms.get(vmid)!.template);
  if (billed.length === 0) return d.note(`billing row fault ${op.how}: no billed VM`);
  const vmid = billed[op.i % billed.length]!;
  const bill = model.bills.get(vmid)!;
  const watched = settled(d, [vmid]);
  const unconfirmedDelete = d.probe.read().open.some((i) => i.kind === 'delete' && i.key === `pve1/${vmid}`);
  const undo = breakRow(d.world, vmid, bill, op.how, op.otherUser);
  const from = Date.now();
  const what = `billing row of ${vmid} broken (${op.how === 'secondRow' ? `second row for user ${op.otherUser}` : op.how})`;
  d.note(what);
  let refresh: string | null = null;
  try {
    const at = model.present().indexOf(vmid);
    if (op.change === 'power') d.note(model.togglePower(at));
    else if (op.change === 'resize') d.note(model.resize(at, op.resize.cpu, op.resize.memMiB, op.resize.diskGiB));
    d.note(`${await d.passes(op.passes)}/${op.passes} pass(es) ran`);
    refresh = await refreshProblems(d, watched, what);
  } finally {
    const to = Date.now();
    undo();
    model.billingFaults.push({ what, vmid, from, to, unconfirmedDelete });
  }
  checkWindow(d, model.billingFaults.at(-1)!, refresh);
}
