// The vSphere safety suite's random input: a starting fleet on 2 clusters × 2 ESXi hosts and a
// sequence of vCenter events (inventory changes and faults), each followed by 1-2 passes.
// Indices (`i`, `host`, `target`) are taken modulo whatever exists when the step runs, as in the
// Proxmox chaos suite, so every generated sequence is meaningful whatever came before it.
import fc from 'fast-check';
import type { SimPowerState } from '../../../src/simulators/vsphere/inventory.js';

export const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

/** A VM to create (always billed: an unbilled VM is never pushed, which the example tests cover). */
export interface VmSpec {
  /** Index into the 4 hosts. */
  readonly host: number;
  readonly power: SimPowerState;
  readonly cpu: number;
  readonly memoryMiB: number;
  /** Capacities in bytes; some are not whole GiB, so the panel's disk must be rounded up. */
  readonly disks: readonly number[];
  readonly tools: boolean;
  readonly user: number;
  /** Billing status `suspended` (the panel then shows `suspended` whatever the power state). */
  readonly suspended: boolean;
}

/**
 * List entries whose id is garbled (a stray space, a URL delimiter): no VM can have such an id, so
 * the entry names no VM — while it is listed, nothing of the source counts as missing. (The source
 * once took the garbled id for a VM's, so the real VM counted as missing and its VPS was deleted;
 * the example test "a garbled VM id in a list entry" in vsphere-safety.test.ts pins that down.)
 */
export const GARBLED_ID_OVERRIDES: readonly ((id: string) => Record<string, unknown>)[] = [
  (id) => ({ vm: `${id} ` }),
  (id) => ({ vm: id.replace('-', ' ') }),
  (id) => ({ vm: `${id}/x` }),
];

/**
 * Malformed list entries (fields merged into the VM's `GET /vcenter/vm` entry, given its id): each
 * makes the entry fail validation, so the VM is unknown that pass — or, when the id itself is
 * unreadable, the whole listing may hold any VM.
 */
export const BAD_OVERRIDES: readonly ((id: string) => Record<string, unknown>)[] = [
  () => ({ memory_size_MiB: -5 }),
  () => ({ power_state: 'WEIRD' }),
  () => ({ cpu_count: 0 }),
  () => ({ cpu_count: 'four' }),
  () => ({ memory_size_MiB: 1.5 }),
  () => ({ name: '' }),
  () => ({ name: 'bad\u0000name' }),
  () => ({ power_state: null }),
  () => ({ vm: '' }),
  () => ({ vm: 42 }),
  // An id no VM can have: the entry names no VM (see GARBLED_ID_OVERRIDES).
  ...GARBLED_ID_OVERRIDES,
];

export type Op =
  | { readonly kind: 'add'; readonly spec: VmSpec }
  | { readonly kind: 'remove'; readonly i: number }
  | { readonly kind: 'power'; readonly i: number; readonly state: SimPowerState }
  | { readonly kind: 'resize'; readonly i: number; readonly cpu: number | null; readonly memoryMiB: number | null; readonly disks: readonly number[] | null }
  /** An HA restart or a vMotion: the VM shows up on another host (possibly in the other cluster). */
  | { readonly kind: 'move'; readonly i: number; readonly host: number }
  | { readonly kind: 'hostLost'; readonly host: number; readonly state: 'NOT_RESPONDING' | 'DISCONNECTED' }
  /** One of the lost hosts (index among them) reconnects. */
  | { readonly kind: 'hostBack'; readonly i: number }
  /** Listings filtered by a cluster (target 0-1) or a host (2-5) answer 500 for the next `passes` passes. */
  | { readonly kind: 'failShard'; readonly target: number; readonly passes: number }
  /** A VM's detail answers 500 for the next `passes` passes. */
  | { readonly kind: 'failDetail'; readonly i: number; readonly passes: number }
  /** Sessions expire `afterMs` after the next pass starts (mid-pass, or before the next one in daemon mode: `once` logs in anew each time). */
  | { readonly kind: 'expireSessions'; readonly afterMs: number }
  /** vCenter drops every connection for the next `passes` passes. */
  | { readonly kind: 'down'; readonly passes: number }
  | { readonly kind: 'guestUnavailable'; readonly on: boolean }
  | { readonly kind: 'slow'; readonly ms: number }
  /** For the next `passes` passes every answer comes after the source's timeout: delayed whole, or trickling after half its body. */
  | { readonly kind: 'timeout'; readonly how: 'slow' | 'stall'; readonly passes: number }
  | { readonly kind: 'badEntry'; readonly i: number; readonly override: number }
  /** One of the malformed entries (index among them) is fixed. */
  | { readonly kind: 'fixEntry'; readonly i: number }
  /** Billing suspends or reinstates a VM's service (an extra beside the vCenter events). */
  | { readonly kind: 'billing'; readonly i: number };

export interface Step {
  readonly op: Op;
  /** `once` runs after the op. */
  readonly passes: 1 | 2;
}

export interface Scenario {
  /**
   * `once`: every pass is a new `once` (in-process CLI): the source starts from the state file each
   * time. `daemon`: one `run` process for the whole case, a pass per `POST /resync`: the source keeps
   * its session, its last valid entries and its shard sizes in memory between passes.
   */
  readonly mode: 'once' | 'daemon';
  /** Which API the simulated vCenter speaks (`rest` only: the source's `auto` must fall back). */
  readonly flavor: 'api' | 'rest';
  /** `listLimit` of both the simulator and the source: 6 makes the source shard per cluster, host and power state. */
  readonly listLimit: number;
  readonly initial: readonly VmSpec[];
  readonly steps: readonly Step[];
}

const indexArb = fc.nat(1000);
/** How many passes a transient fault lasts (it may outlive its step: the next steps happen meanwhile). */
const durationArb = fc.integer({ min: 1, max: 5 });
const powerArb = fc.constantFrom<SimPowerState>('POWERED_ON', 'POWERED_ON', 'POWERED_OFF', 'SUSPENDED');
const cpuArb = fc.constantFrom(1, 2, 4, 8, 16);
const memArb = fc.constantFrom(1024, 2048, 4096, 6144, 8192, 16384);
const diskArb = fc
  .record({ gib: fc.integer({ min: 1, max: 500 }), extra: fc.constantFrom(0, 0, 1, 512 * MIB) })
  .map(({ gib, extra }) => gib * GIB + extra);
const disksArb = fc.array(diskArb, { minLength: 1, maxLength: 2 });

export const vmSpecArb: fc.Arbitrary<VmSpec> = fc.record({
  host: fc.nat(3),
  power: powerArb,
  cpu: cpuArb,
  memoryMiB: memArb,
  disks: disksArb,
  tools: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  user: fc.integer({ min: 1, max: 20 }),
  suspended: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: vmSpecArb.map((spec): Op => ({ kind: 'add', spec })) },
  { weight: 4, arbitrary: indexArb.map((i): Op => ({ kind: 'remove', i })) },
  { weight: 4, arbitrary: fc.record({ i: indexArb, state: powerArb }).map((r): Op => ({ kind: 'power', ...r })) },
  {
    weight: 3,
    arbitrary: fc
      .record({ i: indexArb, cpu: fc.option(cpuArb), memoryMiB: fc.option(memArb), disks: fc.option(disksArb) })
      .map((r): Op => ({ kind: 'resize', ...r })),
  },
  { weight: 4, arbitrary: fc.record({ i: indexArb, host: fc.nat(3) }).map((r): Op => ({ kind: 'move', ...r })) },
  {
    weight: 4,
    arbitrary: fc
      .record({ host: fc.nat(3), state: fc.constantFrom<'NOT_RESPONDING' | 'DISCONNECTED'>('NOT_RESPONDING', 'DISCONNECTED') })
      .map((r): Op => ({ kind: 'hostLost', ...r })),
  },
  { weight: 2, arbitrary: indexArb.map((i): Op => ({ kind: 'hostBack', i })) },
  { weight: 3, arbitrary: fc.record({ target: fc.nat(5), passes: durationArb }).map((r): Op => ({ kind: 'failShard', ...r })) },
  { weight: 3, arbitrary: fc.record({ i: indexArb, passes: durationArb }).map((r): Op => ({ kind: 'failDetail', ...r })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 80 }).map((afterMs): Op => ({ kind: 'expireSessions', afterMs })) },
  { weight: 2, arbitrary: durationArb.map((passes): Op => ({ kind: 'down', passes })) },
  { weight: 1, arbitrary: fc.boolean().map((on): Op => ({ kind: 'guestUnavailable', on })) },
  { weight: 1, arbitrary: fc.constantFrom(0, 0, 5, 20, 60).map((ms): Op => ({ kind: 'slow', ms })) },
  {
    weight: 1,
    arbitrary: fc
      .record({ how: fc.constantFrom<'slow' | 'stall'>('slow', 'stall'), passes: fc.integer({ min: 1, max: 2 }) })
      .map((r): Op => ({ kind: 'timeout', ...r })),
  },
  { weight: 3, arbitrary: fc.record({ i: indexArb, override: fc.nat(BAD_OVERRIDES.length - 1) }).map((r): Op => ({ kind: 'badEntry', ...r })) },
  { weight: 2, arbitrary: indexArb.map((i): Op => ({ kind: 'fixEntry', i })) },
  { weight: 1, arbitrary: indexArb.map((i): Op => ({ kind: 'billing', i })) },
);

/** A whole case: 8-15 VMs to start with, then 10-15 steps. */
export const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  mode: fc.constantFrom<'once' | 'daemon'>('once', 'once', 'daemon'),
  flavor: fc.constantFrom<'api' | 'rest'>('api', 'api', 'rest'),
  listLimit: fc.constantFrom(6, 6, 6, 4000),
  initial: fc.array(vmSpecArb, { minLength: 8, maxLength: 15 }),
  steps: fc.array(fc.record({ op: opArb, passes: fc.constantFrom<1 | 2>(1, 1, 2) }), { minLength: 10, maxLength: 15 }),
});
