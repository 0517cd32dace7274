// The chaos suite's properties, as functions from what is observable (the panel's table and its
// change history, the model, the daemon's report of ambiguous creates) to a list of problems.
import type { PanelRow, TableEvent } from '../../../src/simulators/panel/index.js';
import { parseVmName, type DesiredRow, type Model } from './model.js';

const FIELDS = ['user_id', 'name', 'cpu', 'ram', 'disk', 'os', 'status', 'hypervisor'] as const;

function fieldsOf(row: PanelRow): DesiredRow {
  return Object.fromEntries(FIELDS.map((f) => [f, row[f]])) as unknown as DesiredRow;
}

function same(row: PanelRow, want: DesiredRow): boolean {
  return FIELDS.every((f) => row[f] === want[f]);
}

function show(row: PanelRow): string {
  return `#${row.id} ${JSON.stringify(fieldsOf(row))}`;
}

/** Groups rows by the VMID their name stands for; rows with foreign names go under NaN. */
function byVmid(table: readonly PanelRow[]): Map<number, PanelRow[]> {
  const out = new Map<number, PanelRow[]>();
  for (const row of table) {
    const vmid = parseVmName(row.name)?.vmid ?? Number.NaN;
    const list = out.get(vmid);
    if (list) list.push(row);
    else out.set(vmid, [row]);
  }
  return out;
}

/**
 * Property 1 (and 2 on the end state). `final`: the table equals the desired state exactly,
 * except that a VMID with an ambiguous create may have at most 2 rows (the possible duplicate
 * is visible and reported). `early`: only the VMs with nothing to delete first (no row of
 * another generation or owner, no open delete) must be right already; extra rows may still wait
 * for deletes.
 */
export function tableProblems(
  table: readonly PanelRow[],
  desired: ReadonlyMap<number, DesiredRow>,
  ambiguous: ReadonlySet<number>,
  mode: 'final' | 'early',
  /** `early`: VMIDs known to have a delete to finish first (an open delete in the outbox). */
  deleting: ReadonlySet<number> = new Set(),
): string[] {
  const problems: string[] = [];
  const rows = byVmid(table);
  for (const r of rows.get(Number.NaN) ?? []) problems.push(`row ${show(r)} does not stand for any VM the suite made`);
  const vmids = new Set([...desired.keys(), ...[...rows.keys()].filter((k) => !Number.isNaN(k))]);
  for (const vmid of [...vmids].sort((a, b) => a - b)) {
    const have = rows.get(vmid) ?? [];
    const want = desired.get(vmid);
    if (ambiguous.has(vmid)) {
      if (have.length > 2) problems.push(`VM ${vmid} (ambiguous create) has ${have.length} rows, at most 2 allowed: ${have.map(show).join('; ')}`);
      continue;
    }
    if (mode === 'early') {
      if (!want || deleting.has(vmid)) continue;
      const foreign = have.some((r) => r.name !== want.name || r.user_id !== want.user_id);
      if (foreign) continue;
      if (have.length !== 1 || !same(have[0]!, want)) problems.push(`VM ${vmid}: want ${JSON.stringify(want)}, panel has ${have.length === 0 ? 'nothing' : have.map(show).join('; ')}`);
      continue;
    }
    if (!want) {
      if (have.length > 0) problems.push(`VM ${vmid} must not be on the panel (gone, unbilled or template), panel has ${have.map(show).join('; ')}`);
    } else if (have.length !== 1 || !same(have[0]!, want)) {
      problems.push(`VM ${vmid}: want exactly ${JSON.stringify(want)}, panel has ${have.length === 0 ? 'nothing' : have.map(show).join('; ')}`);
    }
  }
  return problems;
}

/**
 * How long before a pass's start an event may have been recorded and still have been unseen by
 * that pass: the model notes some events just before it makes them (a billing transaction), so a
 * pass starting in between observed the old world.
 */
const EVENT_SLACK_MS = 1_000;

/** The start of the last pass that began at or before `at` (the pass that sent a call committed then); -Infinity if none. */
function passStartBefore(passStarts: readonly number[], at: number): number {
  let found = Number.NEGATIVE_INFINITY;
  for (const start of passStarts) {
    if (start > at) break;
    found = start;
  }
  return found;
}

/**
 * Properties over the whole history of the panel's table:
 * - no VPS ever existed twice (same VM name and customer at the same time) unless its VM's create was reported ambiguous;
 * - no VPS was ever deleted unless its VM had been removed, reused or moved to another customer after the pass that
 *   created that VPS began (so an empty, partial or failed listing, a restart or a panel fault never deletes, and an
 *   old removal of a VM that came back justifies nothing about the VPS made for it since);
 * - every row ever created stands for a pushable VM and a customer that owned that VMID at some point
 *   (bad entries, templates and never-billed VMs never reach the panel);
 * - no update ever gave a VPS to another customer (an owner change is a delete and a create).
 */
export function historyProblems(
  history: readonly TableEvent[],
  model: Model,
  ambiguous: ReadonlySet<number>,
  /** When each of the daemon's passes began (finished or not), ascending. */
  passStarts: readonly number[],
): string[] {
  const problems: string[] = [];
  const live = new Map<number, PanelRow>();
  const createdAt = new Map<number, number>();
  for (const e of history) {
    const parsed = parseVmName(e.row.name);
    if (e.change === 'create') {
      if (!parsed || !model.pushableNames.has(e.row.name)) problems.push(`created ${show(e.row)}: not a pushable VM of the suite`);
      else if (!model.ownersEver.get(parsed.vmid)?.has(e.row.user_id)) problems.push(`created ${show(e.row)}: user ${e.row.user_id} never owned VM ${parsed.vmid}`);
      const twin = [...live.values()].find((r) => r.name === e.row.name && r.user_id === e.row.user_id);
      if (twin && !(parsed && ambiguous.has(parsed.vmid))) problems.push(`duplicate: ${show(e.row)} created while ${show(twin)} existed, and the create was not reported ambiguous`);
      live.set(e.row.id, e.row);
      createdAt.set(e.row.id, e.at);
    } else if (e.change === 'update') {
      const before = live.get(e.row.id);
      if (before && before.user_id !== e.row.user_id) problems.push(`updated ${show(e.row)}: handed from user ${before.user_id} to user ${e.row.user_id}`);
      live.set(e.row.id, e.row);
    } else {
      live.delete(e.row.id);
      const vmid = parsed?.vmid;
      const created = createdAt.get(e.row.id);
      const since = created === undefined ? Number.NEGATIVE_INFINITY : passStartBefore(passStarts, created) - EVENT_SLACK_MS;
      const justified = vmid !== undefined && model.events.some((k) => k.vmid === vmid && k.at > since && k.at < e.at);
      if (!justified) {
        problems.push(
          `deleted ${show(e.row)} at ${new Date(e.at).toISOString()}, but its VM was not removed, reused or moved to another customer between the pass that created it${Number.isFinite(since) ? ` (began ${new Date(since + EVENT_SLACK_MS).toISOString()})` : ''} and that moment`,
        );
      }
    }
  }
  return problems;
}
