// What the model expects of the VPSes while a billing fault lasts (billing-faults.ts): the
// daemon cannot tell who owns the VM, so it keeps all that billing decided as it last sent it, and
// brings the hypervisor's facts up to date (domain/plan.ts, refreshFromHypervisor). Updates are
// therefore not held: the watched VMs' rows end up exactly as the model's desired rows.
import type { World } from '../../support/world.js';
import { parseVmName, type Model } from './model.js';
import type { StateProbe } from './state-probe.js';

/** What a billing fault needs of the running case. */
export interface FaultDriver {
  readonly world: World;
  readonly model: Model;
  readonly probe: StateProbe;
  note(line: string): void;
  /** Asks for `n` passes back to back; how many ran. */
  passes(n: number): Promise<number>;
  /** SIGKILL, then start the daemon again. */
  restart(): Promise<void>;
  /** No other fault is armed (panel, Proxmox, an offline node): the calls that are due can go out. */
  quiet(): boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * VMs whose VPS the daemon last sent (confirmed or not) as the model wants it in all that billing
 * decides — owner, name, OS, suspension — with no create or delete of theirs open: while billing
 * cannot say who owns them, the daemon must keep all that and bring the hypervisor's facts up to
 * date, so afterwards their row is exactly the model's desired row (the model's billing rows do not
 * change during a fault). "Last sent" includes an update sent and never confirmed: the panel may
 * show it, so it is billing's latest word as far as the daemon knows (a suspension whose answer was
 * lost must not be lifted because billing went quiet).
 */
export function settled(d: FaultDriver, vmids: readonly number[]): number[] {
  const desired = d.model.desired();
  const table = d.world.panel.table();
  const { snapshot, open } = d.probe.read();
  return vmids.filter((vmid) => {
    const key = `pve1/${vmid}`;
    const want = desired.get(vmid);
    const entry = snapshot.find((e) => e.key === key);
    const items = open.filter((i) => i.key === key);
    const rows = table.filter((r) => parseVmName(r.name)?.vmid === vmid);
    if (!want || !entry || rows.length !== 1 || rows[0]!.id !== entry.panelId) return false;
    if (items.some((i) => i.kind !== 'update' || i.panelId !== entry.panelId || i.state === 'ambiguous' || i.failure === 'rejected')) return false;
    const latest = items.find((i) => i.fields !== null)?.fields ?? entry.sent;
    return (
      entry.owner.userId === want.user_id &&
      latest.user_id === want.user_id &&
      latest.name === want.name &&
      latest.os === want.os &&
      (latest.status === 'suspended') === (want.status === 'suspended')
    );
  });
}

function rowProblems(d: FaultDriver, vmids: readonly number[]): string[] {
  const desired = d.model.desired();
  const table = d.world.panel.table();
  const out: string[] = [];
  for (const vmid of vmids) {
    const want = desired.get(vmid);
    if (!want) continue; // removed or hidden during the fault
    const rows = table.filter((r) => parseVmName(r.name)?.vmid === vmid);
    const right = rows.length === 1 && (Object.keys(want) as (keyof typeof want)[]).every((f) => rows[0]![f] === want[f]);
    if (!right) out.push(`VM ${vmid}: want ${JSON.stringify(want)}, panel has ${rows.length === 0 ? 'nothing' : rows.map((r) => `#${r.id} ${JSON.stringify(r)}`).join('; ')}`);
  }
  return out;
}

/**
 * While the fault still lasts, the `watched` VMs' rows must come to show the hypervisor's facts:
 * updates are not held. Other faults may delay them (then, if they never go quiet, it is not
 * checked). Returns what is wrong, so that the fault is undone and its other properties (more
 * telling: a delete, a create) checked before this is reported.
 */
export async function refreshProblems(d: FaultDriver, watched: readonly number[], what: string): Promise<string | null> {
  if (watched.length === 0) return null;
  let quietPasses = 0;
  for (let attempt = 0; ; attempt++) {
    const wrong = rowProblems(d, watched);
    if (wrong.length === 0) {
      d.note(`… VMs ${watched.join(', ')} kept their owner and got the hypervisor's facts`);
      return null;
    }
    // Three passes with nothing else in the way: a breaker probe, a retry after backoff, the call.
    if (quietPasses >= 3) return `${what}: the hypervisor's changes did not reach the panel after ${quietPasses} quiet passes:\n  ${wrong.join('\n  ')}`;
    if (attempt >= 6) {
      d.note(`… refresh of VMs ${watched.join(', ')} not checked: other faults kept the calls back`);
      return null;
    }
    // Past the breaker's cooldown and the retry backoff (RETRY in scenario.ts).
    await sleep(300);
    const quiet = d.quiet();
    if ((await d.passes(1)) === 1 && quiet) quietPasses++;
  }
}
