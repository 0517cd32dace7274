// Turns the raw guest list into VM records: templates and filtered-out guests are skipped,
// each malformed or duplicate entry is rejected with a reason, and the rest are mapped.
import type { RejectedItem, VmRecord } from '../../domain/types.js';
import { filterFieldsOf, type FilterFields } from './filter.js';
import { toVmRecord } from './map.js';
import { describeEntry, isQuickGuestEntry, parseGuestEntry, type GuestEntry } from './schema.js';

export interface ListingResult {
  vms: VmRecord[];
  rejected: RejectedItem[];
  /** Counts of what was deliberately left out, for the debug log. */
  templates: number;
  filteredOut: number;
}

/** Validates, filters and maps the entries of one listing of source `source`. */
export function buildListing(source: string, entries: readonly unknown[], keep?: (g: FilterFields) => boolean): ListingResult {
  const result: ListingResult = { vms: [], rejected: [], templates: 0, filteredOut: 0 };
  const seen = new Map<number, GuestEntry>();
  entries.forEach((raw, index) => {
    if (typeof raw === 'object' && raw !== null && (raw as { template?: unknown }).template === 1) {
      result.templates++;
      return;
    }
    // Filtering before validation: garbage on a node we do not manage is not our problem.
    if (keep && !keep(filterFieldsOf(raw))) {
      result.filteredOut++;
      return;
    }
    // The usual entry is valid: map it as it is (the fields we read are exactly the validated ones),
    // without building a cleaned copy of each of 100,000 entries first.
    let entry: GuestEntry;
    if (typeof raw === 'object' && raw !== null && !Array.isArray(raw) && isQuickGuestEntry(raw as Record<string, unknown>)) {
      entry = raw as GuestEntry;
    } else {
      const parsed = parseGuestEntry(raw);
      if (!parsed.ok) {
        // Keep the vmid when it is readable: the VM exists, so the engine must treat it as unknown, not gone.
        const vmid = readableVmid(raw);
        result.rejected.push({ where: `${source}: ${describeEntry(raw, index)}`, problem: parsed.problem, ...(vmid !== undefined ? { vmId: vmid, source } : {}) });
        return;
      }
      entry = parsed.entry;
    }
    const first = seen.get(entry.vmid);
    if (first !== undefined) {
      // QEMU and LXC share the VMID space; two guests with one id would make identity ambiguous.
      const firstText = `${first.type}/${first.vmid} on ${first.node}`;
      result.rejected.push({ where: `${source}: ${describeEntry(raw, index)}`, problem: `duplicate vmid ${entry.vmid} (already listed as ${firstText}); kept the first`, vmId: String(entry.vmid), source });
      return;
    }
    seen.set(entry.vmid, entry);
    result.vms.push(toVmRecord(source, entry));
  });
  return result;
}

/** The vmid of a raw entry when it is a positive integer (number or decimal string). */
function readableVmid(raw: unknown): string | undefined {
  const v = typeof raw === 'object' && raw !== null ? (raw as { vmid?: unknown }).vmid : undefined;
  const text = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : '';
  return /^[1-9][0-9]{0,9}$/.test(text) ? text : undefined;
}
