// The list of installed faults and the rule that picks which one (if any) hits a request.
import { seededRandom } from '../rng.js';
import type { FaultSpec, InstalledFault, SimAction } from './types.js';

/** Installed faults, checked in installation order; the first that fires wins. */
export class FaultSet {
  private faults: InstalledFault[] = [];
  private lastId = 0;
  private random: () => number;

  constructor(private seed: number) {
    this.random = seededRandom(seed);
  }

  /** Installs a fault; returns its id for removal. */
  add(spec: FaultSpec): number {
    const id = ++this.lastId;
    this.faults.push({ id, spec, remaining: spec.times ?? null, fired: 0 });
    return id;
  }

  /** Removes one fault; false when no fault has that id. */
  remove(id: number): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((f) => f.id !== id);
    return this.faults.length !== before;
  }

  /** Removes every fault and, when given, restarts the RNG with a new seed. */
  clear(seed?: number): void {
    this.faults = [];
    if (seed !== undefined) this.seed = seed;
    this.random = seededRandom(this.seed);
  }

  /** Copies of the installed faults, for `/_sim/faults`. */
  list(): InstalledFault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  /** Picks the fault for a request with this action (null for unparsable bodies), consuming one-shot counts. */
  pick(action: SimAction | null): FaultSpec | null {
    if (this.faults.length === 0) return null;
    for (const fault of this.faults) {
      if (fault.spec.action !== undefined && fault.spec.action !== action) continue;
      // The RNG is only drawn for probabilistic faults, so adding a sticky fault does not shift the sequence.
      if (fault.spec.probability !== undefined && this.random() >= fault.spec.probability) continue;
      fault.fired++;
      if (fault.remaining !== null && --fault.remaining <= 0) this.remove(fault.id);
      return fault.spec;
    }
    return null;
  }
}
