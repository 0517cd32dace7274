// Turns what came back from the panel (an HTTP answer or a transport failure) into a PanelResult kind.
// The rule that matters: a create whose outcome we cannot know is `ambiguous`, never `retryable`,
// because the panel has no idempotency key and a blind retry gives the customer a second VPS.
import { STATUS_CODES } from 'node:http';
import type { PanelFailureKind } from '../domain/ports.js';
import { createAnswerSchema, errorAnswerSchema } from './schema.js';
import { excerpt } from './text.js';

export type PanelAction = 'create' | 'update' | 'delete';

export interface PanelFailure {
  readonly ok: false;
  readonly kind: PanelFailureKind;
  readonly message: string;
  readonly status?: number;
}

/** A classified outcome; `id` is the new VPS id for a create, null otherwise. */
export type Classified = { readonly ok: true; readonly status: number; readonly id: number | null } | PanelFailure;

/** An HTTP answer as received (body as raw text, never parsed before this point). */
export interface HttpAnswer {
  readonly status: number;
  readonly statusText?: string;
  readonly body: string;
  /** `Location` header of a redirect. */
  readonly location?: string;
}

/** A request that got no HTTP answer. */
export interface TransportFailure {
  /** Node/undici error code (`ECONNREFUSED`, `UND_ERR_SOCKET`, `ECONNABORTED` for our deadline, `ERR_CANCELED`…). */
  readonly code: string | undefined;
  readonly message: string;
  /**
   * Whether the connection (TCP, and TLS for https) was established, i.e. whether the request may have arrived.
   * `undefined` when it cannot be told; that is treated like `true`.
   */
  readonly connected: boolean | undefined;
}

// Failures that happen before a byte of the request can reach the panel.
const NEVER_SENT = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EHOSTUNREACH', 'ENETUNREACH',
  'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL', 'EPROTO', 'ERR_INVALID_URL',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED', 'CERT_REVOKED', 'HOSTNAME_MISMATCH',
]);

const KEY_HINT = "check panel.apiKey / VPS_SYNC_API_KEY matches the panel's VPS_SYNC_API_KEY";

/** Classifies an HTTP answer of the sync endpoint for one action. */
export function classifyAnswer(action: PanelAction, answer: HttpAnswer): Classified {
  const { status } = answer;
  if (status >= 200 && status < 300) return classifySuccess(action, answer);
  const head = headOf(action, answer);
  const detail = panelMessage(answer.body);
  const fail = (kind: PanelFailureKind, message: string): PanelFailure => ({ ok: false, kind, message, status });
  if (status === 401) return fail('unauthorized', `panel ${action}: panel refused the API key (401): ${KEY_HINT}: ${detail}`);
  if (status === 403) return fail('unauthorized', `panel ${action}: panel refused the request (403): ${KEY_HINT}, and that no proxy blocks it: ${detail}`);
  if (status === 404) {
    return action === 'create'
      ? fail('rejected', `${head}: ${detail} (is panel.url the panel's base URL? the sync endpoint was not found)`)
      : fail('not_found', `${head}: ${detail}`);
  }
  // 408/425/429: the server says it did not process the request; try again later.
  if (status === 408 || status === 425 || status === 429) return fail('retryable', `${head}: ${detail}`);
  if (status >= 300 && status < 400) {
    return fail('rejected', `${head}: redirected to ${answer.location ?? '(no Location)'}; set panel.url to the final URL`);
  }
  if (status < 500) return fail('rejected', `${head}: ${detail}`);
  // A proxy answering 502/503 never reached (or was refused by) the panel: nothing was committed.
  if (status === 502 || status === 503) return fail('retryable', `${head}: ${detail}`);
  // 500, 504 and the rest: the panel may have committed before failing. Update and delete are idempotent.
  return action === 'create'
    ? fail('ambiguous', `${head}: ${detail} (the panel may have created it)`)
    : fail('retryable', `${head}: ${detail}`);
}

/** Classifies a request that got no HTTP answer. */
export function classifyTransport(action: PanelAction, failure: TransportFailure): PanelFailure {
  const what = failure.code ? `${failure.message} (${failure.code})` : failure.message;
  const neverSent =
    failure.connected === false ||
    (failure.code !== undefined && (NEVER_SENT.has(failure.code) || /^ERR_(TLS|SSL)_/.test(failure.code)));
  if (neverSent) return { ok: false, kind: 'retryable', message: `panel ${action}: request not delivered: ${what}` };
  if (action === 'create') {
    return { ok: false, kind: 'ambiguous', message: `panel ${action}: no answer after sending: ${what} (the panel may have created it)` };
  }
  return { ok: false, kind: 'retryable', message: `panel ${action}: no answer after sending: ${what}` };
}

/** `panel create: 201 Created`: how every message about an answer starts. */
function headOf(action: PanelAction, answer: HttpAnswer): string {
  return `panel ${action}: ${answer.status} ${answer.statusText || STATUS_CODES[answer.status] || 'Unknown Status'}`;
}

function classifySuccess(action: PanelAction, answer: HttpAnswer): Classified {
  if (action !== 'create') return { ok: true, status: answer.status, id: null };
  const body = parseJson(answer.body);
  // The usual answer, checked by hand (the initial sync of a hosting company is 100,000 of them);
  // anything else goes through the schema, which has the last word.
  const id = quickVpsId(body);
  if (id !== undefined) return { ok: true, status: answer.status, id };
  const parsed = createAnswerSchema.safeParse(body);
  if (parsed.success) return { ok: true, status: answer.status, id: parsed.data.vps.id };
  return {
    ok: false,
    kind: 'ambiguous',
    status: answer.status,
    message: `${headOf(action, answer)} but the answer has no usable vps.id (the VPS was probably created): ${excerpt(answer.body)}`,
  };
}

/** `vps.id` of a create answer when it is a positive integer, exactly as `createAnswerSchema` requires; else undefined. */
function quickVpsId(body: unknown): number | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const vps = (body as { vps?: unknown }).vps;
  if (typeof vps !== 'object' || vps === null || Array.isArray(vps)) return undefined;
  const id = (vps as { id?: unknown }).id;
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

/** The panel's `message` (or `error`) from a JSON error body; otherwise a short excerpt of the body. */
function panelMessage(body: string): string {
  const parsed = errorAnswerSchema.safeParse(parseJson(body));
  const text = parsed.success ? (parsed.data.message ?? parsed.data.error) : undefined;
  return text !== undefined && text.trim() !== '' ? excerpt(text) : excerpt(body);
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}
