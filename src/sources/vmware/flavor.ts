// The two spellings of the same API: `/api` (7.0 U2+) and `/rest` (6.5–7.0).
// Everything flavour-specific lives here so the rest of the source speaks one language.
import { z } from 'zod';

export type FlavorName = 'api' | 'rest';

export interface Flavor {
  readonly name: FlavorName;
  /** Path prefix of every vCenter endpoint. */
  readonly prefix: string;
  /** Login (POST) and logout (DELETE). */
  readonly sessionPath: string;
  /** Query parameter name of a list filter (`clusters` vs `filter.clusters`). */
  filterParam(name: string): string;
  /** The payload inside an answer (`/rest` wraps everything in `{"value": …}`). */
  unwrap(body: unknown): { ok: true; value: unknown } | { ok: false; problem: string };
  /** The vAPI error kind of an error body, in `/api` spelling, or null when it has none. */
  errorKind(body: unknown): { kind: string; message: string | null } | null;
}

const vapiMessages = z.array(z.looseObject({ id: z.string().optional(), default_message: z.string().optional() })).optional();
const apiError = z.looseObject({ error_type: z.string(), messages: vapiMessages });
const restError = z.looseObject({ type: z.string(), value: z.looseObject({ messages: vapiMessages }).optional() });
const restEnvelope = z.looseObject({ value: z.unknown() });

/** `/api`: bare payloads, `error_type` errors. */
export const API_FLAVOR: Flavor = {
  name: 'api',
  prefix: '/api',
  sessionPath: '/api/session',
  filterParam: (name) => name,
  unwrap: (body) => ({ ok: true, value: body }),
  errorKind: (body) => {
    const parsed = apiError.safeParse(body);
    if (!parsed.success) return null;
    return { kind: parsed.data.error_type.toUpperCase(), message: firstMessage(parsed.data.messages) };
  },
};

/** `/rest`: `{"value": …}` payloads, `com.vmware.vapi.std.errors.<kind>` errors. */
export const REST_FLAVOR: Flavor = {
  name: 'rest',
  prefix: '/rest',
  sessionPath: '/rest/com/vmware/cis/session',
  filterParam: (name) => `filter.${name}`,
  unwrap: (body) => {
    const parsed = restEnvelope.safeParse(body);
    if (!parsed.success || !('value' in parsed.data)) return { ok: false, problem: 'expected an object {"value": …} (the /rest envelope)' };
    return { ok: true, value: parsed.data.value };
  },
  errorKind: (body) => {
    const parsed = restError.safeParse(body);
    if (!parsed.success) return null;
    const kind = parsed.data.type.slice(parsed.data.type.lastIndexOf('.') + 1).toUpperCase();
    return { kind, message: firstMessage(parsed.data.value?.messages) };
  },
};

/** The flavour object for a name. */
export function flavorByName(name: FlavorName): Flavor {
  return name === 'api' ? API_FLAVOR : REST_FLAVOR;
}

function firstMessage(messages: z.infer<typeof vapiMessages>): string | null {
  const first = messages?.[0];
  return first?.default_message ?? first?.id ?? null;
}
