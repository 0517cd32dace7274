// The human view of a plan: what would be sent, what is held, and the drift — one line each.
import type { PlannedPass } from '../engine/pass.js';
import type { Action, DriftClass } from '../domain/types.js';
import { unreportedByNode, unreportedLine } from '../engine/unreported.js';

const DRIFT_ORDER: readonly DriftClass[] = [
  'missing_on_panel', 'stale_on_panel', 'gone_from_hypervisor', 'owner_changed', 'held_delete', 'ambiguous',
  'unbilled', 'billed_but_missing', 'suspended_but_running', 'ambiguous_billing',
];

/**
 * What the plan could not read: each source whose listing failed, the guests a node did not
 * report, and billing when it is down — by name (`part`) and with the reason (`why`). A plan
 * without them cannot say the panel matches: their VMs, owners and deletes are unknown.
 */
export function unknownParts(p: PlannedPass): Array<{ readonly part: string; readonly why: string }> {
  const parts: Array<{ part: string; why: string }> = [];
  for (const l of p.observation.listings) {
    if (!l.ok) parts.push({ part: `source ${l.source}`, why: `source ${l.source} is unknown (its listing failed)` });
    // A node that is down: its guests' VPSes may be wrong on the panel, and nothing here can tell.
    else if (l.unreported && l.unreported.length > 0) {
      parts.push({
        part: `${l.unreported.length} guest(s) of source ${l.source} (listed without a state)`,
        why: `${l.unreported.length} guest(s) of source ${l.source} were listed without a state (their node or host is offline or not reporting)`,
      });
    }
  }
  if (!p.observation.billing.ok) parts.push({ part: 'billing', why: 'billing is unavailable' });
  return parts;
}

/** What the panel differs by that this pass will not send: held deletes, calls not sent, ambiguous creates. */
function waitingParts(p: PlannedPass): string[] {
  const parts: string[] = [];
  if (p.guarded.held.length > 0) parts.push(`${p.guarded.held.length} delete(s) held by the guards`);
  if (p.gated.skipped.length > 0) parts.push(`${p.gated.skipped.length} call(s) not sent this pass`);
  if (p.driftCounts.ambiguous > 0) parts.push(`${p.driftCounts.ambiguous} ambiguous create(s) to resolve`);
  return parts;
}

/** "a", "a and b", "a, b and c". */
export function joinWords(words: readonly string[]): string {
  return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} and ${words.at(-1)}`;
}

/** Renders a plan as text for a terminal. */
export function formatPlan(p: PlannedPass, maxLines = 200): string {
  const out: string[] = [];
  out.push('Sources:');
  for (const l of p.observation.listings) {
    out.push(l.ok ? `  ${l.source.padEnd(16)} ok, ${l.vms.length} VM(s)${l.rejected.length ? `, ${l.rejected.length} rejected` : ''}` : `  ${l.source.padEnd(16)} UNKNOWN (nothing of it will change): ${l.error}`);
    if (l.ok && l.unreported && l.unreported.length > 0) out.push(`    ${unreportedLine(l.source, l.unreported.length, unreportedByNode(l.unreported))}`);
  }
  const b = p.observation.billing;
  out.push(b.ok ? `Billing:          ok, ${b.records.length} row(s)${b.rejected.length ? `, ${b.rejected.length} rejected` : ''}` : `Billing:          UNAVAILABLE (no creates, deletes or owner changes): ${b.error}`);
  out.push('');

  const send = p.gated.send;
  const unknown = unknownParts(p);
  const waiting = waitingParts(p);
  if (send.length > 0) out.push(`Actions (${send.length}):`);
  else if (unknown.length === 0 && waiting.length === 0) out.push('No changes: the panel matches.');
  // Held deletes and calls not sent are not changes this pass would make, but the panel differs there.
  else if (unknown.length === 0) out.push(`Nothing to send now, but the panel does not match yet: ${joinWords(waiting)} (below).`);
  else out.push(`No changes from what could be read; ${joinWords(unknown.map((u) => u.part))} could not be read, so the panel may still differ.`);
  out.push(...limit(send.map(formatAction), maxLines));
  if (p.gated.skipped.length > 0) {
    out.push('', `Not sent this pass (${p.gated.skipped.length}):`);
    out.push(...limit(p.gated.skipped.map((s) => `  ! ${s.action.kind.padEnd(6)} ${s.action.key}: ${s.why}`), maxLines));
  }
  if (p.guarded.held.length > 0) {
    out.push('', `Held by guards (${p.guarded.held.length}):`);
    out.push(...limit(p.guarded.drift.map((d) => `  ! ${d.detail}`), maxLines));
  }

  // What the actions above already fix is not repeated; a delete still waiting for more listings is.
  const deleting = new Set(send.filter((a) => a.kind === 'delete').map((a) => a.key));
  const notable = p.drift.filter(
    (d) => !['missing_on_panel', 'stale_on_panel', 'held_delete'].includes(d.class) && !(d.class === 'gone_from_hypervisor' && d.key !== undefined && deleting.has(d.key)),
  );
  if (notable.length > 0) {
    out.push('', 'Needs attention:');
    const sorted = [...notable].sort((a, b) => DRIFT_ORDER.indexOf(a.class) - DRIFT_ORDER.indexOf(b.class));
    out.push(...limit(sorted.map((d) => `  ${d.class.padEnd(22)} ${d.detail}`), maxLines));
  }
  if (p.problems.length > 0) {
    out.push('', 'Problems:');
    out.push(...limit(p.problems.map((x) => `  ${x}`), maxLines));
  }

  out.push('', 'Drift:');
  for (const c of DRIFT_ORDER) if (p.driftCounts[c] > 0) out.push(`  ${c.padEnd(22)} ${p.driftCounts[c]}`);
  if (DRIFT_ORDER.every((c) => p.driftCounts[c] === 0)) out.push('  none');
  const n = (k: Action['kind']) => send.filter((a) => a.kind === k).length;
  out.push('', `Plan: ${n('create')} to create, ${n('update')} to update, ${n('delete')} to delete.`);
  return out.join('\n') + '\n';
}

function formatAction(a: Action): string {
  switch (a.kind) {
    case 'create': {
      const f = a.desired.fields;
      return `  + create ${a.key.padEnd(18)} "${f.name}" user ${f.user_id}, ${f.cpu} CPU, ${f.ram} MB, ${f.disk} GB, ${f.os}, ${f.status}${a.reason === 'owner_changed' ? ' (new owner)' : ''}`;
    }
    case 'update': {
      const changes = a.changed.length > 0 ? a.changed.map((c) => `${c} → ${String(a.desired.fields[c])}`).join(', ') : 're-send (full resync)';
      return `  ~ update ${a.key.padEnd(18)} #${a.panelId}: ${changes}`;
    }
    case 'delete':
      return `  - delete ${a.key.padEnd(18)} #${a.panelId}: ${a.reason === 'owner_changed' ? 'owner changed' : 'gone from the hypervisor'}`;
  }
}

function limit(lines: string[], max: number): string[] {
  return lines.length <= max ? lines : [...lines.slice(0, max), `  … and ${lines.length - max} more (use --json for all)`];
}

/** The machine view of a plan (`plan --json`). */
export function planJson(p: PlannedPass): unknown {
  return {
    /** false when a source, some of its guests or billing could not be read: then no change planned does not mean none is due. */
    complete: unknownParts(p).length === 0,
    sources: p.observation.listings.map((l) =>
      l.ok ? { name: l.source, ok: true, vms: l.vms.length, rejected: l.rejected, unreported: l.unreported ?? [] } : { name: l.source, ok: false, error: l.error },
    ),
    billing: p.observation.billing.ok ? { ok: true, rows: p.observation.billing.records.length, rejected: p.observation.billing.rejected } : { ok: false, error: p.observation.billing.error },
    actions: p.gated.send.map((a) =>
      a.kind === 'delete'
        ? { kind: a.kind, key: a.key, panelId: a.panelId, reason: a.reason }
        : a.kind === 'update'
          ? { kind: a.kind, key: a.key, panelId: a.panelId, changed: a.changed, fields: a.desired.fields }
          : { kind: a.kind, key: a.key, reason: a.reason, owner: a.desired.owner, fields: a.desired.fields },
    ),
    skipped: p.gated.skipped.map((s) => ({ kind: s.action.kind, key: s.action.key, why: s.why })),
    held: p.guarded.held.map((a) => ({ kind: a.kind, key: a.key })),
    drift: p.drift,
    driftCounts: p.driftCounts,
    problems: p.problems,
  };
}
