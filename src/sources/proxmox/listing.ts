// Turns the raw guest list into VM records: templates and filtered-out guests are skipped,
// each malformed or duplicate entry is rejected with a reason, and the rest are mapped.
import type { RejectedItem, VmRecord } from '../../domain/types.js';
import { filterFieldsOf, type FilterFields } from './filter.js';
import { toVmRecord } from './map.js';
import { describeEntry, parseGuestEntry } from './schema.js';

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
  const seen = new Map<number, string>();
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
    const where = () => `${source}: ${describeEntry(raw, index)}`;
    const parsed = parseGuestEntry(raw);
    if (!parsed.ok) {
      result.rejected.push({ where: where(), problem: parsed.problem });
      return;
    }
    const { entry } = parsed;
    const first = seen.get(entry.vmid);
    if (first !== undefined) {
      // QEMU and LXC share the VMID space; two guests with one id would make identity ambiguous.
      result.rejected.push({ where: where(), problem: `duplicate vmid ${entry.vmid} (already listed as ${first}); kept the first` });
      return;
    }
    seen.set(entry.vmid, `${entry.type}/${entry.vmid} on ${entry.node}`);
    result.vms.push(toVmRecord(source, entry));
  });
  return result;
}
