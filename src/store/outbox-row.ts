// An outbox row as SQLite hands it over, and the item the rest of the daemon sees.
import type { ActionKind, OutboxItem, Ownership, PanelFields } from '../domain/types.js';
import { vmKey } from '../domain/types.js';

export interface OutboxRow {
  id: number;
  source: string;
  external_id: string;
  kind: ActionKind;
  panel_id: number | null;
  fields_json: string | null;
  user_id: number | null;
  billing_id: string | null;
  state: OutboxItem['state'];
  failure: OutboxItem['failure'];
  attempts: number;
  next_attempt_at: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

export function toOutboxItem(r: OutboxRow): OutboxItem {
  const owner: Ownership | null = r.user_id === null ? null : { userId: r.user_id, billingId: r.billing_id };
  return {
    id: r.id,
    key: vmKey(r.source, r.external_id),
    kind: r.kind,
    panelId: r.panel_id,
    fields: r.fields_json ? (JSON.parse(r.fields_json) as PanelFields) : null,
    owner,
    state: r.state,
    failure: r.failure,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
