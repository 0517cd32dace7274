// Field-level rules: how a hypervisor's view and a billing record become the panel's fields.
import type { BillingRecord, PanelFields, PanelStatus, VmPower, VmRecord } from './types.js';

/** OS shown when neither billing nor the hypervisor can tell (the panel requires a string). */
export const UNKNOWN_OS = 'unknown';

/** The panel status for a VM: billing suspension wins, else the hypervisor's power state. */
export function panelStatus(power: VmPower, billingSuspended: boolean): PanelStatus {
  if (billingSuspended) return 'suspended';
  switch (power) {
    case 'running':
      return 'running';
    case 'stopped':
      return 'stopped';
    case 'suspended':
      return 'suspended';
    case 'creating':
      return 'creating';
  }
}

/** The full panel view of an owned VM. */
export function panelFieldsFor(vm: VmRecord, record: BillingRecord): PanelFields {
  return {
    user_id: record.userId,
    name: record.name ?? (vm.name !== '' ? vm.name : `${vm.source}-${vm.externalId}`),
    cpu: vm.cpu,
    ram: vm.ramMb,
    disk: vm.diskGb,
    os: record.os ?? vm.os ?? UNKNOWN_OS,
    status: panelStatus(vm.power, record.suspended),
    hypervisor: vm.hypervisor,
  };
}

/**
 * The panel view of a VM whose owner cannot be established this pass (billing down, an
 * ambiguous or rejected billing row, or no billing row any more): the hypervisor's facts are
 * refreshed, everything billing decided last time is kept as it was sent.
 */
export function refreshFromHypervisor(vm: VmRecord, lastSent: PanelFields): PanelFields {
  // Never lift a suspension we cannot re-confirm: it was billing's decision, and billing is silent now.
  const status = lastSent.status === 'suspended' ? 'suspended' : panelStatus(vm.power, false);
  return { ...lastSent, cpu: vm.cpu, ram: vm.ramMb, disk: vm.diskGb, status };
}

/** Names of the fields that differ between two panel views, in wire order. */
export function changedFields(before: PanelFields, after: PanelFields): (keyof PanelFields)[] {
  const out: (keyof PanelFields)[] = [];
  if (before.user_id !== after.user_id) out.push('user_id');
  if (before.name !== after.name) out.push('name');
  if (before.cpu !== after.cpu) out.push('cpu');
  if (before.ram !== after.ram) out.push('ram');
  if (before.disk !== after.disk) out.push('disk');
  if (before.os !== after.os) out.push('os');
  if (before.status !== after.status) out.push('status');
  if (before.hypervisor !== after.hypervisor) out.push('hypervisor');
  return out;
}
