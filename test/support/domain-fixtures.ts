// Small builders for the pure-core tables: a VM, a billing row, a snapshot entry.
import type { BillingListing, BillingRecord, PanelFields, RejectedItem, SnapshotEntry, SourceListing, VmRecord } from '../../src/domain/types.js';
import { vmKey } from '../../src/domain/types.js';

export function vm(over: Partial<VmRecord> & { externalId: string }): VmRecord {
  return {
    source: 'pve1',
    hypervisor: 'proxmox',
    name: `vm${over.externalId}`,
    cpu: 2,
    ramMb: 4096,
    diskGb: 32,
    os: null,
    power: 'running',
    ...over,
  };
}

export function row(over: Partial<BillingRecord> & { vmId: string; userId: number }): BillingRecord {
  return { billingId: `b${over.vmId}`, source: null, suspended: false, os: 'Ubuntu 22.04', name: null, ...over };
}

export function fields(over: Partial<PanelFields> = {}): PanelFields {
  return { user_id: 7, name: 'vm100', cpu: 2, ram: 4096, disk: 32, os: 'Ubuntu 22.04', status: 'running', hypervisor: 'proxmox', ...over };
}

export function entry(over: Partial<SnapshotEntry> & { externalId: string; panelId: number }): SnapshotEntry {
  const source = over.source ?? 'pve1';
  return {
    key: vmKey(source, over.externalId),
    source,
    owner: { userId: 7, billingId: `b${over.externalId}` },
    sent: fields({ name: `vm${over.externalId}` }),
    missingPasses: 0,
    ...over,
  };
}

export function listed(source: string, vms: VmRecord[], rejected: RejectedItem[] = []): SourceListing {
  return { source, ok: true, vms, rejected };
}

export function failed(source: string): SourceListing {
  return { source, ok: false, error: 'connection refused' };
}

export function billing(records: BillingRecord[], rejected: RejectedItem[] = []): BillingListing {
  return { ok: true, records, rejected };
}

export const billingDown: BillingListing = { ok: false, error: 'connection refused' };
