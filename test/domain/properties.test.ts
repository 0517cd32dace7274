// Random small worlds (three sources, two VM ids per kind, every kind of unknown) checked against
// rules stated independently of desired() and plan(): the tables test the cases someone thought
// of, this the combinations nobody listed (it found an entry naming no VM on another source being
// ignored when a row without source was matched to a VM).
import { describe, expect, it } from 'vitest';
import { desired, type DesiredState } from '../../src/domain/desired.js';
import { plan } from '../../src/domain/plan.js';
import type { Action, BillingListing, BillingRecord, HypervisorKind, PanelFields, RejectedItem, SnapshotEntry, SourceListing, VmKey, VmPower, VmRecord } from '../../src/domain/types.js';
import { vmKey } from '../../src/domain/types.js';
import { seededRandom } from '../../src/simulators/rng.js';

const SOURCES: { name: string; kind: HypervisorKind }[] = [
  { name: 'pve1', kind: 'proxmox' },
  { name: 'pve2', kind: 'proxmox' },
  { name: 'vc1', kind: 'vmware' },
];
const IDS: Record<HypervisorKind, string[]> = { proxmox: ['100', '101'], vmware: ['vm-1', 'vm-2'] };
const POWERS: VmPower[] = ['running', 'stopped', 'suspended', 'creating'];
const kindOf = (vmId: string): HypervisorKind => (vmId.startsWith('vm-') ? 'vmware' : 'proxmox');

interface World {
  readonly listings: SourceListing[];
  readonly billing: BillingListing;
  readonly snapshot: SnapshotEntry[];
}

function randomWorld(seed: number): World {
  const random = seededRandom(seed);
  const pick = <T,>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const listings: SourceListing[] = SOURCES.map((s): SourceListing => {
    if (random() < 0.15) return { source: s.name, ok: false, error: 'connection refused' };
    const vms: VmRecord[] = [];
    const rejected: RejectedItem[] = [];
    const unreported: { vmId: string; node: string }[] = [];
    for (const id of IDS[s.kind]) {
      const roll = random();
      if (roll < 0.55) {
        vms.push({ source: s.name, externalId: id, hypervisor: s.kind, name: pick(['', 'a', 'b']), cpu: pick([1, 2]), ramMb: pick([1024, 2048]), diskGb: pick([10, 20]), os: pick([null, 'l26']), power: pick(POWERS) });
      } else if (roll < 0.65) rejected.push({ where: `${s.name}: ${id}`, problem: 'maxmem is negative', vmId: id, source: s.name });
      else if (roll < 0.75) unreported.push({ vmId: id, node: 'n3' });
    }
    if (random() < 0.1) rejected.push({ where: `${s.name}: entry #9`, problem: 'entry is null', namesNoVm: true });
    return { source: s.name, ok: true, vms, rejected, unreported };
  });
  let billing: BillingListing = { ok: false, error: 'connection refused' };
  if (random() >= 0.15) {
    const records: BillingRecord[] = [];
    const rejected: RejectedItem[] = [];
    for (const id of [...IDS.proxmox, ...IDS.vmware]) {
      for (let n = pick([0, 1, 1, 1, 2]); n > 0; n--) {
        const source = random() < 0.5 ? null : pick(SOURCES.filter((s) => s.kind === kindOf(id))).name;
        if (random() < 0.1) rejected.push({ where: 'billing row', problem: 'user_id is null', vmId: id, source });
        else records.push({ billingId: pick([null, 'a', 'b']), vmId: id, source, userId: pick([7, 8, 9]), suspended: random() < 0.3, os: pick([null, 'Debian 12']), name: pick([null, 'web']) });
      }
    }
    billing = { ok: true, records, rejected };
  }
  const snapshot: SnapshotEntry[] = [];
  for (const s of SOURCES) {
    for (const id of IDS[s.kind]) {
      if (random() < 0.5) continue;
      const userId = pick([7, 8, 9]);
      const sent: PanelFields = { user_id: userId, name: pick(['a', 'web', 'b']), cpu: pick([1, 2]), ram: pick([1024, 2048]), disk: pick([10, 20]), os: pick(['l26', 'Debian 12', 'unknown']), status: pick(POWERS), hypervisor: s.kind };
      snapshot.push({ key: vmKey(s.name, id), source: s.name, externalId: id, panelId: snapshot.length + 1, owner: { userId, billingId: pick([null, 'a', 'b']) }, sent, missingPasses: pick([0, 1, 2, 3]) });
    }
  }
  return { listings, billing, snapshot };
}

/**
 * Why `record` may not own `vm`, or null when it may: it is the only row (valid or rejected) that
 * can be about the VM, and a row without source names no VM that another source of its kind may
 * hold (listed, down, rejected, unreported, or an entry naming no VM).
 */
function whyNotOwner(world: World, vm: VmRecord, record: BillingRecord): string | null {
  if (!world.billing.ok) return 'billing is down';
  const rows = [...world.billing.records, ...world.billing.rejected.map((r) => ({ vmId: r.vmId!, source: r.source ?? null }))];
  const about = rows.filter((r) => r.vmId === vm.externalId && (r.source === null || r.source === vm.source));
  if (about.length !== 1) return `${about.length} rows may be about it`;
  if (record.source !== null) return record.source === vm.source ? null : 'its row names another source';
  for (const s of SOURCES) {
    if (s.name === vm.source || s.kind !== kindOf(record.vmId)) continue;
    const l = world.listings.find((x) => x.source === s.name)!;
    if (!l.ok) return `${s.name} is down`;
    if (l.vms.some((v) => v.externalId === record.vmId)) return `${s.name} lists it too`;
    if (l.rejected.some((r) => r.namesNoVm || r.vmId === record.vmId)) return `${s.name} has an entry that may be it`;
    if (l.unreported?.some((u) => u.vmId === record.vmId)) return `${s.name} lists it without state`;
  }
  return null;
}

/** The snapshot after every call of a plan was answered (what the store records), with its missing counts. */
function answered(snapshot: readonly SnapshotEntry[], actions: readonly Action[], missing: ReadonlyMap<VmKey, number>, nextId: () => number): SnapshotEntry[] {
  const byKey = new Map(snapshot.map((e) => [e.key, e]));
  for (const a of actions) {
    if (a.kind === 'delete') byKey.delete(a.key);
    else {
      const owner = { userId: a.desired.fields.user_id, billingId: a.desired.owner.billingId };
      const panelId = a.kind === 'update' ? a.panelId : nextId();
      byKey.set(a.key, { key: a.key, source: a.desired.source, externalId: a.desired.externalId, panelId, owner, sent: a.desired.fields, missingPasses: byKey.get(a.key)?.missingPasses ?? 0 });
    }
  }
  for (const [key, n] of missing) {
    const e = byKey.get(key);
    if (e) byKey.set(key, { ...e, missingPasses: n });
  }
  return [...byKey.values()];
}

const SEEDS = Array.from({ length: 2000 }, (_, i) => i + 1);

describe('desired() and plan() over random worlds', () => {
  it('a VM is owned only by the one row that can be about it', () => {
    const wrong: unknown[] = [];
    for (const seed of SEEDS) {
      const world = randomWorld(seed);
      const state = desired({ sources: SOURCES, listings: world.listings, billing: world.billing });
      for (const o of state.observed) {
        const why = o.record ? whyNotOwner(world, o.vm, o.record) : null;
        if (why !== null) wrong.push({ seed, key: o.key, why });
      }
    }
    expect(wrong.slice(0, 3)).toEqual([]);
  });

  it('nothing unknown is deleted, and an update never changes the customer', () => {
    const wrong: unknown[] = [];
    for (const seed of SEEDS) {
      const world = randomWorld(seed);
      const state = desired({ sources: SOURCES, listings: world.listings, billing: world.billing });
      const entries = new Map(world.snapshot.map((e) => [e.key, e]));
      for (const a of plan({ state, snapshot: world.snapshot }).actions) {
        const e = entries.get(a.key);
        if (a.kind !== 'update' && !state.billingUp) wrong.push({ seed, why: 'a create or delete while billing is down', a });
        if (a.kind === 'update' && (a.desired.fields.user_id !== e!.owner.userId || a.desired.owner.userId !== e!.owner.userId)) wrong.push({ seed, why: 'an update for another customer', a });
        if (a.kind === 'delete' && a.reason === 'gone_from_hypervisor') {
          const l = world.listings.find((x) => x.source === e!.source)!;
          if (!l.ok || l.rejected.some((r) => r.namesNoVm || r.vmId === e!.externalId) || l.unreported?.some((u) => u.vmId === e!.externalId)) wrong.push({ seed, why: 'a VM that may exist deleted', a });
        }
      }
    }
    expect(wrong.slice(0, 3)).toEqual([]);
  });

  it('converges: once every call is answered nothing is sent again, even while billing or a source flaps', () => {
    const wrong: unknown[] = [];
    for (const seed of SEEDS) {
      const world = randomWorld(seed);
      let panelId = 1000;
      const nextId = (): number => panelId++;
      let snapshot = world.snapshot;
      // Deletes of VMs still gone are the missing-pass rule at work, not a failure to converge.
      const pass = (state: DesiredState): Action[] => {
        const p = plan({ state, snapshot });
        snapshot = answered(snapshot, p.actions, p.missingPasses, nextId);
        return p.actions.filter((a) => !(a.kind === 'delete' && a.reason === 'gone_from_hypervisor'));
      };
      const seen = (listings: SourceListing[], billing: BillingListing): DesiredState => desired({ sources: SOURCES, listings, billing });
      const usual = seen(world.listings, world.billing);
      const flaps = [
        seen(world.listings, { ok: false, error: 'connection refused' }),
        ...SOURCES.map((s) => seen(world.listings.map((l) => (l.source === s.name ? { source: s.name, ok: false as const, error: 'timeout' } : l)), world.billing)),
        ...SOURCES.map((s) => seen(world.listings.map((l) => (l.source === s.name && l.ok ? { ...l, rejected: [...l.rejected, { where: 'x', problem: 'entry is null', namesNoVm: true as const }] } : l)), world.billing)),
      ];
      pass(usual);
      const again = pass(usual);
      if (again.length > 0) wrong.push({ seed, why: 'sent twice', again });
      for (const flap of flaps) {
        pass(flap);
        pass(usual);
        const cycle = [...pass(flap), ...pass(usual)];
        if (cycle.length > 0) wrong.push({ seed, why: 'flips', cycle });
      }
    }
    expect(wrong.slice(0, 3)).toEqual([]);
  });
});
