// The billing faults' properties, from what is observable: the daemon's finished passes (their
// times and the problems each reported), the panel's change history and the fault windows the
// model kept. README, "How it decides": billing down means no creates and no deletes; a missing or
// broken billing row is never a reason to delete, and rows that contradict each other are not pushed.
import type { TableEvent } from '../../../src/simulators/panel/index.js';
import { parseVmName, type BillingFaultWindow } from './model.js';
import type { FinishedPass } from './state-probe.js';

/** How a pass that could not read billing says so in its problems (engine/pass.ts decide()). */
const UNAVAILABLE = 'billing unavailable';

export function reportsBillingDown(pass: FinishedPass): boolean {
  return pass.problems.some((p) => p.startsWith(UNAVAILABLE));
}

/** The pass began after the fault was made and ended before it was undone: it read billing during the fault. */
export function passInside(pass: FinishedPass, w: BillingFaultWindow): boolean {
  return pass.startedAt > w.from && pass.finishedAt < w.to;
}

/**
 * A panel change committed while the pass ran is that pass's: passes of one daemon never overlap
 * (apply waits for every answer), and a call abandoned by a killed daemon is never committed
 * later (the panel drops a request whose client is gone).
 */
function committedIn(e: TableEvent, pass: FinishedPass): boolean {
  return e.at > pass.startedAt && e.at <= pass.finishedAt;
}

function show(e: TableEvent): string {
  return `${e.change} of #${e.row.id} (${e.row.name}, user ${e.row.user_id}) at ${new Date(e.at).toISOString()}`;
}

/**
 * - a pass that reported billing unavailable made no create and no delete;
 * - a pass that ran entirely inside a billing outage reported billing unavailable (the outage was real,
 *   and the daemon did not mistake unreadable billing for empty billing);
 * - a pass that ran entirely inside a fault of one VM's billing row neither created nor deleted a VPS
 *   of that VM (unless a delete of it was already sent and unconfirmed when the fault began).
 *
 * `windows`: the faults to check passes against (a pass reporting billing down is checked whatever they are).
 */
export function billingFaultProblems(passes: readonly FinishedPass[], history: readonly TableEvent[], windows: readonly BillingFaultWindow[]): string[] {
  const problems: string[] = [];
  const structural = history.filter((e) => e.change !== 'update');
  for (const pass of passes) {
    if (!reportsBillingDown(pass)) continue;
    for (const e of structural) if (committedIn(e, pass)) problems.push(`pass #${pass.id} could not read billing, yet the panel saw a ${show(e)}`);
  }
  for (const w of windows) {
    for (const pass of passes.filter((p) => passInside(p, w))) {
      if (w.vmid === null) {
        if (!reportsBillingDown(pass)) problems.push(`pass #${pass.id} ran inside "${w.what}" but did not report billing unavailable (problems: ${pass.problems.join('; ') || 'none'})`);
        continue;
      }
      for (const e of structural) {
        if (!committedIn(e, pass) || parseVmName(e.row.name)?.vmid !== w.vmid) continue;
        if (e.change === 'delete' && w.unconfirmedDelete) continue;
        problems.push(`pass #${pass.id} ran inside "${w.what}" and the panel saw a ${show(e)}`);
      }
    }
  }
  return problems;
}
