// What the panel answers to one `POST /api/vps/sync`, faults aside: auth, strict validation, the table change.
import { timingSafeEqual } from 'node:crypto';
import type { VpsTable } from './table.js';
import type { PanelRow, SimBehaviour } from './types.js';
import { validateSync, type SyncRequest } from './validate.js';

/** A request body read from the wire; `parsed` is absent when it was not JSON. */
export interface SyncInput {
  readonly apiKey: string | undefined;
  readonly contentType: string | undefined;
  /** Null when the body was too large to read. */
  readonly raw: string | null;
  readonly parsed: { readonly value: unknown } | null;
}

/** An HTTP status and the JSON body to send. */
export interface SyncAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** The state a sync request reads and changes. */
export interface SyncContext {
  readonly apiKey: Buffer;
  readonly table: VpsTable;
  readonly behaviour: SimBehaviour;
}

/** Parses a body as JSON; null when it is not JSON (so callers can tell `null` the value from a failure). */
export function parseJson(raw: string | null): { value: unknown } | null {
  if (raw === null) return null;
  try {
    return { value: JSON.parse(raw) };
  } catch {
    return null;
  }
}

/** Runs one sync request against the table and says what to answer. */
export function processSync(input: SyncInput, ctx: SyncContext): SyncAnswer {
  if (!keyMatches(input.apiKey, ctx.apiKey)) {
    return { status: 401, body: { error: 'Unauthorized', message: 'Invalid or missing API key' } };
  }
  if (input.raw === null) return error(413, 'Request Entity Too Large', 'request body is too large');
  if (!isJsonContentType(input.contentType)) return badRequest('Content-Type must be application/json');
  if (input.parsed === null) return badRequest('request body is not valid JSON');
  const known = ctx.behaviour.knownUserIds;
  const validated = validateSync(input.parsed.value, known === 'any' ? () => true : (id) => known.includes(id));
  if (!validated.ok) return badRequest(validated.message);
  return apply(validated.request, ctx);
}

function apply(request: SyncRequest, ctx: SyncContext): SyncAnswer {
  const { table, behaviour } = ctx;
  if (request.action === 'create') return success(behaviour, table.insert(request.fields));
  const row =
    request.action === 'update' ? table.update(request.id, request.status, request.patch) : table.remove(request.id);
  if (row) return success(behaviour, row);
  if (behaviour.unknownId === '404') return error(404, 'Not Found', 'VPS not found');
  // The real panel runs UPDATE/DELETE without checking rows affected, so it reports success anyway.
  const status = request.action === 'update' ? request.status : undefined;
  return { status: behaviour.successStatus, body: { status: 'success', message: 'VPS synced successfully', vps: { id: request.id, status } } };
}

function success(behaviour: SimBehaviour, row: PanelRow): SyncAnswer {
  const vps = { id: row.id, name: row.name, status: row.status, created_at: row.created_at };
  return { status: behaviour.successStatus, body: { status: 'success', message: 'VPS synced successfully', vps } };
}

function keyMatches(given: string | undefined, expected: Buffer): boolean {
  if (given === undefined) return false;
  const buf = Buffer.from(given, 'utf8');
  return buf.length === expected.length && timingSafeEqual(buf, expected);
}

function isJsonContentType(value: string | undefined): boolean {
  return value !== undefined && value.split(';', 1)[0]!.trim().toLowerCase() === 'application/json';
}

function badRequest(message: string): SyncAnswer {
  return error(400, 'Bad Request', message);
}

function error(status: number, text: string, message: string): SyncAnswer {
  return { status, body: { error: text, message } };
}
