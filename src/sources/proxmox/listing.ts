// Turns the raw guest list into VM records: templates and filtered-out guests are skipped,
// guests of a node that reports nothing are set aside as unreported, each malformed or
// duplicate entry is rejected with a reason, and the rest are mapped.
// Entries can be added a batch at a time (as the body arrives), so a raw entry is dropped as
// soon as its record exists: only the compact records and the rejects accumulate.
import type { RejectedItem, UnreportedVm, VmRecord } from '../../domain/types.js';
import { filterFieldsOf, type FilterFields } from './filter.js';
import { toVmRecord } from './map.js';
import { CONTROL_CHARS, describeEntry, isQuickGuestEntry, parseGuestEntry, type GuestEntry } from './schema.js';

export interface ListingResult {
  vms: VmRecord[];
  rejected: RejectedItem[];
  unreported: UnreportedVm[];
  /** Counts of what was deliberately left out, for the debug log. */
  templates: number;
  filteredOut: number;
}

/** Validates, filters and maps the entries of one listing, in order, one batch at a time. */
export class ListingBuilder implements ListingResult {
  readonly vms: VmRecord[] = [];
  readonly rejected: RejectedItem[] = [];
  readonly unreported: UnreportedVm[] = [];
  templates = 0;
  filteredOut = 0;
  /** Raw entries seen so far (their position in the list is the index of the next one). */
  entries = 0;
  // vmid → the first guest listed with it, as (its index in `vms`) * 2 + (1 for lxc): what a
  // duplicate's message needs, without keeping the raw entry (or a copy of it) alive.
  private readonly seen = new Map<number, number>();

  constructor(
    readonly source: string,
    private readonly keep?: (g: FilterFields) => boolean,
  ) {}

  /** Adds the next entries of the list. */
  addBatch(batch: readonly unknown[]): void {
    const offset = this.entries;
    batch.forEach((raw, i) => this.add(raw, offset + i));
    this.entries = offset + batch.length;
  }

  /** Rejects an entry, keeping its vmid when readable: the VM exists, so the engine must treat it as unknown, not gone. */
  private reject(raw: unknown, index: number, problem: string): void {
    const vmid = readableVmid(raw);
    this.rejected.push({ where: `${this.source}: ${describeEntry(raw, index)}`, problem, ...(vmid !== undefined ? { vmId: vmid, source: this.source } : { namesNoVm: true }) });
  }

  private add(raw: unknown, index: number): void {
    const source = this.source;
    if (typeof raw === 'object' && raw !== null && (raw as { template?: unknown }).template === 1) {
      this.templates++;
      return;
    }
    // Filtering before validation: garbage on a node we do not manage is not our problem.
    if (this.keep) {
      const fields = filterFieldsOf(raw);
      if (fields === null) {
        // Whether we manage it cannot be told, so it is neither filtered out (it would look gone) nor listed.
        this.reject(raw, index, 'node, pool or tags is not text: cannot tell whether the include/exclude filters take this guest');
        return;
      }
      if (!this.keep(fields)) {
        this.filteredOut++;
        return;
      }
    }
    // The usual entry is valid: map it as it is (the fields we read are exactly the validated ones),
    // without building a cleaned copy of each of 100,000 entries first.
    let entry: GuestEntry;
    if (typeof raw === 'object' && raw !== null && !Array.isArray(raw) && isQuickGuestEntry(raw as Record<string, unknown>)) {
      entry = raw as GuestEntry;
    } else {
      // Checked only where the quick path failed (`unknown` is not a status it accepts).
      const unreported = unreportedGuest(raw);
      if (unreported !== undefined) {
        this.unreported.push(unreported);
        return;
      }
      const parsed = parseGuestEntry(raw);
      if (!parsed.ok) {
        this.reject(raw, index, parsed.problem);
        return;
      }
      entry = parsed.entry;
    }
    const first = this.seen.get(entry.vmid);
    if (first !== undefined) {
      // QEMU and LXC share the VMID space; two guests with one id would make identity ambiguous.
      const firstText = `${first & 1 ? 'lxc' : 'qemu'}/${entry.vmid} on ${this.vms[first >> 1]!.location}`;
      this.rejected.push({ where: `${source}: ${describeEntry(raw, index)}`, problem: `duplicate vmid ${entry.vmid} (already listed as ${firstText}); kept the first`, vmId: String(entry.vmid), source });
      return;
    }
    this.seen.set(entry.vmid, this.vms.length * 2 + (entry.type === 'lxc' ? 1 : 0));
    this.vms.push(toVmRecord(source, entry));
  }
}

/** Validates, filters and maps the entries of one listing of source `source`. */
export function buildListing(source: string, entries: readonly unknown[], keep?: (g: FilterFields) => boolean): ListingResult {
  const builder = new ListingBuilder(source, keep);
  builder.addBatch(entries);
  return { vms: builder.vms, rejected: builder.rejected, unreported: builder.unreported, templates: builder.templates, filteredOut: builder.filteredOut };
}

/**
 * A guest Proxmox lists without any state: `status: "unknown"` is what `/cluster/resources` says
 * when it has no current statistics for the guest (its node is offline, or the node's pvestatd
 * stopped reporting), and then name, CPU, memory and disk are absent too. Such an entry still
 * names the guest and its node, from the cluster's configuration. Anything less is rejected.
 */
function unreportedGuest(raw: unknown): UnreportedVm | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { status, node } = raw as { status?: unknown; node?: unknown };
  if (status !== 'unknown' || typeof node !== 'string' || node.length === 0 || node.length > 255 || CONTROL_CHARS.test(node)) return undefined;
  const vmId = readableVmid(raw);
  return vmId === undefined ? undefined : { vmId, node };
}

/**
 * The vmid of a raw entry: its `vmid` when that is a positive integer (number or decimal string),
 * else the number in its `id` (`qemu/100`, `lxc/100`). An entry whose `vmid` is unusable but whose
 * `id` still names the guest must make that VM unknown, not missing (missing long enough is a delete).
 */
function readableVmid(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { vmid, id } = raw as { vmid?: unknown; id?: unknown };
  const text = typeof vmid === 'number' ? String(vmid) : typeof vmid === 'string' ? vmid.trim() : '';
  if (/^[1-9][0-9]{0,9}$/.test(text)) return text;
  const fromId = typeof id === 'string' ? /^(?:qemu|lxc)\/([1-9][0-9]{0,9})$/.exec(id.trim()) : null;
  return fromId?.[1];
}
