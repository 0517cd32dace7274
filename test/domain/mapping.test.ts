// showsSame() is plan()'s shortcut for unchanged VMs: it must answer exactly what building the
// fields and comparing them answers, for every combination of the values the field rules look at.
import { describe, expect, test } from 'vitest';
import { changedFields, panelFieldsFor, showsSame } from '../../src/domain/mapping.js';
import type { BillingRecord, PanelFields, VmPower, VmRecord } from '../../src/domain/types.js';
import { seededRandom } from '../../src/simulators/rng.js';

// Few values per field, so that generated fields often match and often differ in one place.
const POWERS: VmPower[] = ['running', 'stopped', 'suspended', 'creating'];
const pick = <T,>(random: () => number, values: readonly T[]): T => values[Math.floor(random() * values.length)]!;

function randomVm(random: () => number): VmRecord {
  const proxmox = random() < 0.5;
  return {
    source: pick(random, ['pve1', 'vc1']),
    externalId: pick(random, ['100', 'vm-7']),
    hypervisor: proxmox ? 'proxmox' : 'vmware',
    name: pick(random, ['', 'web', 'db']),
    cpu: pick(random, [1, 2]),
    ramMb: pick(random, [1024, 2048]),
    diskGb: pick(random, [20, 40]),
    os: pick(random, [null, 'Debian 12', 'unknown']),
    power: pick(random, POWERS),
  };
}

function randomRecord(random: () => number): BillingRecord {
  return {
    billingId: pick(random, [null, '1']),
    vmId: '100',
    source: null,
    userId: pick(random, [7, 8]),
    suspended: random() < 0.3,
    os: pick(random, [null, 'Debian 12', 'Ubuntu 24.04']),
    name: pick(random, [null, 'web', 'pve1-100']),
  };
}

/** Fields as the snapshot might hold them: usually what the VM gives, sometimes one field off. */
function randomSent(random: () => number, vm: VmRecord, record: BillingRecord): PanelFields {
  const exact = panelFieldsFor(vm, record);
  if (random() < 0.4) return exact;
  const other = panelFieldsFor(randomVm(random), randomRecord(random));
  const field = pick(random, Object.keys(exact) as (keyof PanelFields)[]);
  return { ...exact, [field]: other[field] };
}

describe('showsSame', () => {
  test.each([1, 2, 3])('agrees with building the fields and comparing them (seed %i, 20,000 cases)', (seed) => {
    const random = seededRandom(seed);
    let same = 0;
    for (let i = 0; i < 20_000; i++) {
      const vm = randomVm(random);
      const record = randomRecord(random);
      const sent = randomSent(random, vm, record);
      const expected = changedFields(sent, panelFieldsFor(vm, record)).length === 0;
      if (showsSame(sent, vm, record) !== expected) {
        expect({ sent, vm, record, showsSame: !expected }).toEqual({ sent, vm, record, showsSame: expected });
      }
      if (expected) same++;
    }
    // Both answers were exercised, many times.
    expect(same).toBeGreaterThan(5_000);
    expect(same).toBeLessThan(15_000);
  });
});
