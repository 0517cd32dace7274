import { describe, expect, it } from 'vitest';
import { desired, type DesiredInput } from '../../src/domain/desired.js';
import type { DriftClass, HypervisorKind } from '../../src/domain/types.js';
import { billing, billingDown, failed, listed, row, vm } from '../support/domain-fixtures.js';

const PVE = [{ name: 'pve1', kind: 'proxmox' as HypervisorKind }];
const TWO_PVE = [...PVE, { name: 'pve2', kind: 'proxmox' as HypervisorKind }];

interface Case {
  name: string;
  input: DesiredInput;
  /** key → ownership kind (+ user id when owned) */
  owners: Record<string, string>;
  drift: DriftClass[];
  fields?: Record<string, Partial<Record<string, unknown>>>;
}

const cases: Case[] = [
  {
    name: 'owned VM gets the panel view: RAM in MB, user from billing, OS from billing',
    input: { sources: PVE, listings: [listed('pve1', [vm({ externalId: '100', ramMb: 8192, diskGb: 50 })])], billing: billing([row({ vmId: '100', userId: 5 })]) },
    owners: { 'pve1/100': 'owned:5' },
    drift: [],
    fields: { 'pve1/100': { user_id: 5, ram: 8192, disk: 50, os: 'Ubuntu 22.04', status: 'running', name: 'vm100', hypervisor: 'proxmox' } },
  },
  {
    name: 'billing name wins over the hypervisor name; hypervisor OS used when billing has none',
    input: { sources: PVE, listings: [listed('pve1', [vm({ externalId: '100', os: 'l26' })])], billing: billing([row({ vmId: '100', userId: 5, name: 'web-01', os: null })]) },
    owners: { 'pve1/100': 'owned:5' },
    drift: [],
    fields: { 'pve1/100': { name: 'web-01', os: 'l26' } },
  },
  {
    name: 'no billing row: unbilled, not pushed',
    input: { sources: PVE, listings: [listed('pve1', [vm({ externalId: '100' })])], billing: billing([]) },
    owners: { 'pve1/100': 'unbilled' },
    drift: ['unbilled'],
  },
  {
    name: 'billing row without VM: billed_but_missing',
    input: { sources: PVE, listings: [listed('pve1', [])], billing: billing([row({ vmId: '100', userId: 5 })]) },
    owners: {},
    drift: ['billed_but_missing'],
  },
  {
    name: 'billing row (with source) for a VM whose listing entry was rejected: the VM is unknown, not missing',
    input: {
      sources: PVE,
      listings: [listed('pve1', [], [{ where: 'pve1: qemu/100', problem: 'maxmem: must be a number', vmId: '100', source: 'pve1' }])],
      billing: billing([row({ vmId: '100', userId: 5, source: 'pve1' })]),
    },
    owners: {},
    drift: [],
  },
  {
    name: 'billing row (without source) for a VM whose listing entry was rejected: no verdict either',
    input: {
      sources: TWO_PVE,
      listings: [listed('pve1', [], [{ where: 'pve1: qemu/100', problem: 'maxmem: must be a number', vmId: '100', source: 'pve1' }]), listed('pve2', [])],
      billing: billing([row({ vmId: '100', userId: 5 })]),
    },
    owners: {},
    drift: [],
  },
  {
    name: 'billing row without source: a readable VM on one source, an unreadable entry with its id on another: owner unknown',
    input: {
      sources: TWO_PVE,
      listings: [listed('pve1', [], [{ where: 'pve1: qemu/100', problem: 'maxmem: must be a number', vmId: '100', source: 'pve1' }]), listed('pve2', [vm({ source: 'pve2', externalId: '100' })])],
      billing: billing([row({ vmId: '100', userId: 5 })]),
    },
    owners: { 'pve2/100': 'unknown' },
    drift: [],
  },
  {
    // An entry naming no VM may be VM 100 of pve2: the row may mean that one, as with a source that is down.
    name: 'billing row without source: a readable VM on one source, an entry naming no VM on another of its kind: owner unknown',
    input: {
      sources: TWO_PVE,
      listings: [listed('pve1', [vm({ externalId: '100' })]), listed('pve2', [], [{ where: 'pve2: entry #7', problem: 'entry is null, not an object', namesNoVm: true }])],
      billing: billing([row({ vmId: '100', userId: 5 })]),
    },
    owners: { 'pve1/100': 'unknown' },
    drift: [],
  },
  {
    name: 'billing row without source and no listed VM, an entry naming no VM on a source of its kind: no verdict',
    input: {
      sources: TWO_PVE,
      listings: [listed('pve1', []), listed('pve2', [], [{ where: 'pve2: entry #7', problem: 'entry is null, not an object', namesNoVm: true }])],
      billing: billing([row({ vmId: '100', userId: 5 })]),
    },
    owners: {},
    drift: [],
  },
  {
    name: 'billing row with source whose listing has an entry naming no VM: not billed_but_missing (it may be that entry)',
    input: {
      sources: PVE,
      listings: [listed('pve1', [], [{ where: 'pve1: entry #7', problem: 'entry is null, not an object', namesNoVm: true }])],
      billing: billing([row({ vmId: '100', userId: 5, source: 'pve1' })]),
    },
    owners: {},
    drift: [],
  },
  {
    name: 'an entry naming no VM on a vSphere source does not block a Proxmox id, nor does one on the VM\'s own source',
    input: {
      sources: [...PVE, { name: 'vc1', kind: 'vmware' }],
      listings: [
        listed('pve1', [vm({ externalId: '100' })], [{ where: 'pve1: entry #3', problem: 'entry is null, not an object', namesNoVm: true }]),
        listed('vc1', [], [{ where: 'vc1: entry #2', problem: 'no moref', namesNoVm: true }]),
      ],
      billing: billing([row({ vmId: '100', userId: 5 })]),
    },
    owners: { 'pve1/100': 'owned:5' },
    drift: [],
  },
  {
    name: 'billing row without VM while its only possible source is down: no verdict',
    input: { sources: PVE, listings: [failed('pve1')], billing: billing([row({ vmId: '100', userId: 5 })]) },
    owners: {},
    drift: [],
  },
  {
    name: 'suspended in billing while running: panel shows suspended, reported',
    input: { sources: PVE, listings: [listed('pve1', [vm({ externalId: '100', power: 'running' })])], billing: billing([row({ vmId: '100', userId: 5, suspended: true })]) },
    owners: { 'pve1/100': 'owned:5' },
    drift: ['suspended_but_running'],
    fields: { 'pve1/100': { status: 'suspended' } },
  },
  {
    name: 'suspended in billing and stopped: suspended, nothing to report',
    input: { sources: PVE, listings: [listed('pve1', [vm({ externalId: '100', power: 'stopped' })])], billing: billing([row({ vmId: '100', userId: 5, suspended: true })]) },
    owners: { 'pve1/100': 'owned:5' },
    drift: [],
    fields: { 'pve1/100': { status: 'suspended' } },
  },
  {
    name: 'status mapping: paused → suspended, lock create → creating, stopped → stopped',
    input: {
      sources: PVE,
      listings: [listed('pve1', [vm({ externalId: '1', power: 'suspended' }), vm({ externalId: '2', power: 'creating' }), vm({ externalId: '3', power: 'stopped' })])],
      billing: billing([row({ vmId: '1', userId: 1 }), row({ vmId: '2', userId: 1 }), row({ vmId: '3', userId: 1 })]),
    },
    owners: { 'pve1/1': 'owned:1', 'pve1/2': 'owned:1', 'pve1/3': 'owned:1' },
    drift: [],
    fields: { 'pve1/1': { status: 'suspended' }, 'pve1/2': { status: 'creating' }, 'pve1/3': { status: 'stopped' } },
  },
  {
    name: 'billing down: every VM owner unknown, nothing reported as unbilled',
    input: { sources: PVE, listings: [listed('pve1', [vm({ externalId: '100' })])], billing: billingDown },
    owners: { 'pve1/100': 'unknown' },
    drift: [],
  },
  {
    name: 'row without source, id on two sources: ambiguous_billing, neither pushed',
    input: { sources: TWO_PVE, listings: [listed('pve1', [vm({ externalId: '100' })]), listed('pve2', [vm({ source: 'pve2', externalId: '100' })])], billing: billing([row({ vmId: '100', userId: 5 })]) },
    owners: { 'pve1/100': 'unknown', 'pve2/100': 'unknown' },
    drift: ['ambiguous_billing'],
  },
  {
    name: 'row with source matches only that source; the same id elsewhere is unbilled',
    input: { sources: TWO_PVE, listings: [listed('pve1', [vm({ externalId: '100' })]), listed('pve2', [vm({ source: 'pve2', externalId: '100' })])], billing: billing([row({ vmId: '100', userId: 5, source: 'pve2' })]) },
    owners: { 'pve1/100': 'unbilled', 'pve2/100': 'owned:5' },
    drift: ['unbilled'],
  },
  {
    name: 'row without source while another Proxmox source is down: owner unknown (it could be there)',
    input: { sources: TWO_PVE, listings: [listed('pve1', [vm({ externalId: '100' })]), failed('pve2')], billing: billing([row({ vmId: '100', userId: 5 })]) },
    owners: { 'pve1/100': 'unknown' },
    drift: [],
  },
  {
    name: 'a down vSphere source does not block a Proxmox id',
    input: { sources: [...PVE, { name: 'vc1', kind: 'vmware' }], listings: [listed('pve1', [vm({ externalId: '100' })]), failed('vc1')], billing: billing([row({ vmId: '100', userId: 5 })]) },
    owners: { 'pve1/100': 'owned:5' },
    drift: [],
  },
  {
    name: 'a rejected billing row makes its VM owner-unknown, not unbilled',
    input: { sources: PVE, listings: [listed('pve1', [vm({ externalId: '100' })])], billing: billing([], [{ where: 'billing row 1', problem: 'user_id is null', vmId: '100' }]) },
    owners: { 'pve1/100': 'unknown' },
    drift: [],
  },
  {
    name: 'two rows claim one VM (one with source, one without): ambiguous_billing',
    input: { sources: PVE, listings: [listed('pve1', [vm({ externalId: '100' })])], billing: billing([row({ vmId: '100', userId: 5, source: 'pve1' }), row({ vmId: '100', userId: 6, billingId: 'x' })]) },
    owners: { 'pve1/100': 'unknown' },
    drift: ['ambiguous_billing'],
  },
  {
    name: 'VM without a name gets source-id as name',
    input: { sources: PVE, listings: [listed('pve1', [vm({ externalId: '100', name: '' })])], billing: billing([row({ vmId: '100', userId: 5 })]) },
    owners: { 'pve1/100': 'owned:5' },
    drift: [],
    fields: { 'pve1/100': { name: 'pve1-100' } },
  },
];

describe('desired()', () => {
  it.each(cases)('$name', (c) => {
    const state = desired(c.input);
    const owners = Object.fromEntries(
      state.observed.map((o) => [o.key, o.ownership.kind === 'owned' ? `owned:${o.desired!.owner.userId}` : o.ownership.kind]),
    );
    expect(owners).toEqual(c.owners);
    expect(state.drift.map((d) => d.class).sort()).toEqual([...c.drift].sort());
    for (const [key, want] of Object.entries(c.fields ?? {})) {
      const o = state.observed.find((x) => x.key === key);
      expect(o?.desired?.fields).toMatchObject(want);
    }
    for (const o of state.observed) expect(o.desired !== null).toBe(o.ownership.kind === 'owned');
  });

  it('a failed source is unknown, never empty', () => {
    const state = desired({ sources: TWO_PVE, listings: [listed('pve1', []), failed('pve2')], billing: billing([]) });
    expect([...state.unknownSources]).toEqual(['pve2']);
    expect([...state.listedSources]).toEqual(['pve1']);
  });

  it('a configured source with no listing at all counts as unknown', () => {
    const state = desired({ sources: TWO_PVE, listings: [listed('pve1', [])], billing: billing([]) });
    expect(state.unknownSources.has('pve2')).toBe(true);
  });

  it('drift items carry the ids an operator needs', () => {
    const state = desired({ sources: PVE, listings: [listed('pve1', [vm({ externalId: '101' })])], billing: billing([row({ vmId: '100', userId: 5, billingId: '42' })]) });
    const missing = state.drift.find((d) => d.class === 'billed_but_missing');
    expect(missing).toMatchObject({ billingId: '42', userId: 5 });
    expect(missing?.detail).toContain('#42');
    expect(state.drift.find((d) => d.class === 'unbilled')).toMatchObject({ key: 'pve1/101' });
  });
});
