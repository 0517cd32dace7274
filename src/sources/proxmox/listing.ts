// Turns the raw guest list into VM records: templates and filtered-out guests are skipped,
// each malformed or duplicate entry is rejected with a reason, and the rest are mapped.
import type { RejectedItem, VmRecord } from '../../domain/types.js';
import { filterFieldsOf, type FilterFields } from './filter.js';
import { toVmRecord } from './map.js';
import { describeEntry, parseGuestEntry, type GuestEntry } from './schema.js';

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
    const parsed = parseGuestEntry(raw);
    if (!parsed.ok) {
      result.rejected.push({ where: `${source}: ${describeEntry(raw, index)}`, problem: parsed.problem });
      return;
    }
    const { entry } = parsed;
    const first = seen.get(entry.vmid);
    if (first !== undefined) {
      // QEMU and LXC share the VMID space; two guests with one id would make identity ambiguous.
      const firstText = `${first.type}/${first.vmid} on ${first.node}`;
      result.rejected.push({ where: `${source}: ${describeEntry(raw, index)}`, problem: `duplicate vmid ${entry.vmid} (already listed as ${firstText}); kept the first` });
      return;
    }
    seen.set(entry.vmid, entry);
    result.vms.push(toVmRecord(source, entry));
  });
  return result;
}
