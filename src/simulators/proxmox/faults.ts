// Fault injection: what can go wrong between the daemon and a Proxmox cluster, armed
// programmatically or over `/_sim/faults`, one-shot (`times`) or sticky until cleared.
import { z } from 'zod';
import { BAD_ENTRY_CASES } from './bad-entries.js';

const times = z.number().int().positive().optional();

/** One fault as a caller arms it. */
export const faultSpecSchema = z.discriminatedUnion('kind', [
  // refuse: close the listening socket (ECONNREFUSED); reset: destroy each API request's socket.
  z.strictObject({ kind: z.literal('down'), mode: z.enum(['refuse', 'reset']).default('refuse'), durationMs: z.number().int().positive().optional(), times }),
  z.strictObject({ kind: z.literal('status500'), message: z.string().regex(/^[^\r\n]*$/).optional(), times }),
  // headers: wait before answering; body: send headers and half the body, then wait.
  z.strictObject({ kind: z.literal('slowMs'), ms: z.number().int().nonnegative(), phase: z.enum(['headers', 'body']).default('headers'), times }),
  z.strictObject({ kind: z.literal('badJson'), times }),
  z.strictObject({ kind: z.literal('truncated'), times }),
  z.strictObject({ kind: z.literal('emptyList'), times }),
  z.strictObject({ kind: z.literal('partialList'), fraction: z.number().min(0).max(1), times }),
  z.strictObject({ kind: z.literal('wrongContentType'), contentType: z.string().optional(), times }),
  z.strictObject({ kind: z.literal('badEntries'), cases: z.array(z.enum(BAD_ENTRY_CASES)).optional(), times }),
]);
export type FaultSpec = z.output<typeof faultSpecSchema>;
export type FaultSpecInput = z.input<typeof faultSpecSchema>;
export type FaultKind = FaultSpec['kind'];

interface Armed {
  spec: FaultSpec;
  remaining: number | undefined;
}

/** The currently armed faults, at most one per kind. */
export class FaultSet {
  private readonly armed = new Map<FaultKind, Armed>();

  /** @param onChange called after every change, so the server can open/close its listener for `down`. */
  constructor(private readonly onChange: () => void = () => {}) {}

  /** Arms a fault (replacing one of the same kind); input is validated like the HTTP control API's. */
  set(input: FaultSpecInput): FaultSpec {
    const spec = faultSpecSchema.parse(input);
    this.armed.set(spec.kind, { spec, remaining: spec.times });
    this.onChange();
    return spec;
  }

  /** Clears one fault kind, or all of them. */
  clear(kind?: FaultKind): void {
    if (kind) this.armed.delete(kind);
    else this.armed.clear();
    this.onChange();
  }

  /** The armed faults with how many uses remain (undefined = sticky). */
  list(): { spec: FaultSpec; remaining: number | undefined }[] {
    return [...this.armed.values()].map((a) => ({ spec: a.spec, remaining: a.remaining }));
  }

  /** The armed fault of a kind without using it up. */
  peek<K extends FaultKind>(kind: K): Extract<FaultSpec, { kind: K }> | undefined {
    return this.armed.get(kind)?.spec as Extract<FaultSpec, { kind: K }> | undefined;
  }

  /** The armed fault of a kind, counting one use (a one-shot fault disarms itself). */
  take<K extends FaultKind>(kind: K): Extract<FaultSpec, { kind: K }> | undefined {
    const armed = this.armed.get(kind);
    if (!armed) return undefined;
    if (armed.remaining !== undefined) {
      armed.remaining -= 1;
      if (armed.remaining <= 0) {
        this.armed.delete(kind);
        this.onChange();
      }
    }
    return armed.spec as Extract<FaultSpec, { kind: K }>;
  }
}
