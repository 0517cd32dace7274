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
  /** The body was cut at the size limit: what was kept is only its head. */
  readonly truncated?: boolean;
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
const ROUTE_HINT =
  "not the panel's JSON error, so the 404 did not come from its sync handler and says nothing about the VPS; " +
  "check that panel.url is the panel's base URL and that the proxy or ingress in front of it routes /api/vps/sync to the panel";
const FOREIGN_2XX_HINT =
  'expected an empty body or a JSON object with "status":"success"; a single-sign-on proxy or a maintenance page ' +
  'in front of the panel may have answered, so nothing is known to have changed';

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
    // The panel's create never answers 404: the request did not reach its handler (a wrong panel.url,
    // or an ingress without its route during a deploy), so nothing was created and trying again later
    // is safe. Held as rejected, a deploy's few seconds of 404s kept creates back until a person acted.
    if (action === 'create') return fail('retryable', `${head}: ${detail} (is panel.url the panel's base URL? the sync endpoint was not found)`);
    // "No such VPS" only when the panel itself says so: the engine then forgets the VPS (an update
    // re-creates it, a delete counts as done). A proxy's HTML page, Go's "404 page not found" for a
    // missing route or an ingress without its rule during a deploy say nothing about the VPS, and
    // updates and deletes are idempotent, so try again.
    return isPanelError(answer.body) ? fail('not_found', `${head}: ${detail}`) : fail('retryable', `${head}: ${detail} (${ROUTE_HINT})`);
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
  // Once the request was on an established connection, no error code says it did not arrive: a
  // route lost (EHOSTUNREACH) or a TLS alert after the request was written may follow the panel's commit.
  const neverSent =
    failure.connected === false ||
    (failure.connected !== true && failure.code !== undefined && (NEVER_SENT.has(failure.code) || /^ERR_(TLS|SSL)_/.test(failure.code)));
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
  if (action !== 'create') {
    // A 2xx alone proves nothing: a single-sign-on login page or a maintenance page comes with 200
    // too, and taking it for success records an update or delete that never happened.
    if (isPanelSuccess(answer.body)) return { ok: true, status: answer.status, id: null };
    return { ok: false, kind: 'retryable', status: answer.status, message: `${headOf(action, answer)} but the answer is not the panel's: ${excerpt(answer.body)} (${FOREIGN_2XX_HINT})` };
  }
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

/**
 * Whether a 2xx body to an update/delete is the panel's: empty (a 204), or a JSON object with
 * `"status": "success"` as PANEL_API.md documents. A gateway's or maintenance page's own JSON
 * (`{"message": "maintenance"}`) is not.
 */
function isPanelSuccess(body: string): boolean {
  if (body.trim() === '') return true;
  const parsed = parseJson(body);
  return isPlainObject(parsed) && parsed.status === 'success';
}

/**
 * Whether a body is the panel's own error, `{"error": "<status text>", "message": "<text>"}`:
 * both keys, both text, nothing else. Gateways answer a missing route with JSON too — Kong's
 * `{"message": "no Route matched …"}`, Spring's `{"timestamp", "path", "status", "error", …}` — and
 * taking theirs for "no such VPS" would forget (and re-create) a VPS the panel still has.
 */
function isPanelError(body: string): boolean {
  const parsed = parseJson(body);
  if (!isPlainObject(parsed)) return false;
  const keys = Object.keys(parsed);
  return (
    keys.length === 2 &&
    typeof parsed.error === 'string' && parsed.error.trim() !== '' &&
    typeof parsed.message === 'string' && parsed.message.trim() !== ''
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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
