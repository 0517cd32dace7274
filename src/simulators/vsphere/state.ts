// The simulator's mutable state besides the inventory: sessions, injected faults, request counters.

/** Faults a test or benchmark can switch on; all off by default. */
export interface SimFaults {
  /** Every guest endpoint answers 503, whatever the VM's Tools state. */
  guestUnavailable: boolean;
  /** Cluster or host ids whose filtered VM listings answer 500. */
  failShards: Set<string>;
  /** VM ids whose detail (`GET /vcenter/vm/{vm}`) answers 500. */
  failDetails: Set<string>;
  /** Delay before every vCenter answer. */
  slowMs: number;
  /** Every vCenter answer sends its headers and half its body, then waits this long for the rest. */
  stallBodyMs: number;
  /** Connections are dropped without an answer (the control API keeps working). */
  down: boolean;
  /**
   * The account may see the VMs but not the host and cluster tree (Read-only granted on VM folders
   * only): vCenter lists only what it may see, so `GET /vcenter/cluster` and `/vcenter/host`
   * answer `[]` while the VM listings are unchanged.
   */
  hostTreeHidden: boolean;
}

/** Fresh, fault-free settings. */
export function noFaults(): SimFaults {
  return { guestUnavailable: false, failShards: new Set(), failDetails: new Set(), slowMs: 0, stallBodyMs: 0, down: false, hostTreeHidden: false };
}

/** Requests per operation (`vm.list`, `vm.get`, `session.create`, …), for tests and the benchmark. */
export class Counters {
  private readonly counts = new Map<string, number>();

  /** Adds one to an operation. */
  add(op: string): void {
    this.counts.set(op, (this.counts.get(op) ?? 0) + 1);
  }

  /** The count of one operation (0 when never seen). */
  get(op: string): number {
    return this.counts.get(op) ?? 0;
  }

  /** All counts as a plain object. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  /** Starts counting from zero. */
  reset(): void {
    this.counts.clear();
  }
}
