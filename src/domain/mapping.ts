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
    name: panelName(vm, record),
    cpu: vm.cpu,
    ram: vm.ramMb,
    disk: vm.diskGb,
    os: panelOs(vm, record),
    status: panelStatus(vm.power, record.suspended),
    hypervisor: vm.hypervisor,
  };
}

/**
 * Whether `fields` already are what panelFieldsFor(vm, record) gives, without building them: most
 * VMs of a steady pass are unchanged, and at 100,000 VMs building each view only to compare it cost
 * more than the comparison. The same field rules as panelFieldsFor (a test holds them equal).
 */
export function showsSame(fields: PanelFields, vm: VmRecord, record: BillingRecord): boolean {
  return (
    fields.user_id === record.userId &&
    fields.cpu === vm.cpu &&
    fields.ram === vm.ramMb &&
    fields.disk === vm.diskGb &&
    fields.status === panelStatus(vm.power, record.suspended) &&
    fields.hypervisor === vm.hypervisor &&
    fields.name === panelName(vm, record) &&
    fields.os === panelOs(vm, record)
  );
}

/** Billing's name for the service, else the hypervisor's, else `source-id` (the panel requires one). */
function panelName(vm: VmRecord, record: BillingRecord): string {
  return record.name ?? (vm.name !== '' ? vm.name : `${vm.source}-${vm.externalId}`);
}

/** Billing's OS (what the customer ordered), else what the hypervisor reports, else `unknown`. */
function panelOs(vm: VmRecord, record: BillingRecord): string {
  return record.os ?? vm.os ?? UNKNOWN_OS;
}

/**
 * The panel view of a VM whose owner cannot be established this pass (billing down, an
 * ambiguous or rejected billing row, or no billing row any more): the hypervisor's facts are
 * refreshed, everything billing decided last time is kept as it was sent. `lastSent`: the fields
 * of the last call, confirmed or not (see plan()).
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
