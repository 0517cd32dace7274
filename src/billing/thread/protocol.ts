// The messages between the engine's thread and the billing thread, and how a billing error
// crosses between them (a thrown BillingError cannot: structured clone keeps only Error's message).
import type { BillingConfig } from '../../config/schema.js';
import type { RejectedItem } from '../../domain/types.js';
import { BillingError, type BillingFailure } from '../errors.js';
import type { RecordDelta } from '../delta.js';

/** What the billing thread is started with. */
export interface ThreadInit {
  readonly config: BillingConfig;
  /** The engine logger's level: lines below it are not even sent. */
  readonly level: string;
}

export type ToThread =
  /** Run the query; `base` is the generation of the records the engine holds. */
  | { readonly type: 'list'; readonly id: number; readonly base: number }
  /** The engine stopped waiting for `id` (pass timeout, shutdown): let the driver give up too. */
  | { readonly type: 'cancel'; readonly id: number; readonly why: string }
  /** Close the connection; answered with `closed`. */
  | { readonly type: 'close' };

export type FromThread =
  /** The records as a delta from generation `base` (0: from nothing), now generation `generation`. */
  | { readonly type: 'listed'; readonly id: number; readonly base: number; readonly generation: number; readonly delta: RecordDelta; readonly rejected: readonly RejectedItem[] }
  | { readonly type: 'failed'; readonly id: number; readonly error: ThreadError }
  | { readonly type: 'log'; readonly level: LogLevel; readonly bindings: Record<string, unknown>; readonly fields: Record<string, unknown>; readonly msg: string }
  | { readonly type: 'closed' };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A BillingError's parts, or the message of anything else the thread threw. */
export type ThreadError =
  | { readonly kind: 'billing'; readonly reason: BillingFailure; readonly target: string; readonly detail: string; readonly driverCode?: string }
  | { readonly kind: 'other'; readonly message: string };

export function toThreadError(err: unknown): ThreadError {
  if (err instanceof BillingError) {
    return { kind: 'billing', reason: err.reason, target: err.target, detail: err.detail, ...(err.driverCode !== undefined ? { driverCode: err.driverCode } : {}) };
  }
  return { kind: 'other', message: err instanceof Error ? err.message : String(err) };
}

export function fromThreadError(e: ThreadError): Error {
  if (e.kind === 'billing') return new BillingError(e.reason, e.target, e.detail, e.driverCode);
  return new Error(e.message);
}
