// When a listing moves on to the next node of the cluster, and how failures at several nodes
// are told: still one SourceError (one line) per listing, and one warning per failover.
import type { Endpoint } from './endpoints.js';
import { SourceError, type SourceErrorReason } from './errors.js';

/** What a failed attempt saw on the wire: enough to tell the node's fault from the cluster's. */
export interface AttemptFacts {
  readonly reason: SourceErrorReason;
  /** The HTTP status, when an answer arrived. */
  readonly status: number | undefined;
  /** The connection was lost in the middle of the body. */
  readonly cutShort: boolean;
}

/** One endpoint's failed attempt (its error already scrubbed). */
export interface Failure {
  readonly endpoint: Endpoint;
  readonly error: SourceError;
}

/** What the failover warning carries: which endpoints failed and why, and which one answered. */
export interface FailoverEvent {
  readonly source: string;
  readonly failed: readonly { readonly endpoint: string; readonly reason: SourceErrorReason; readonly error: string }[];
  readonly answered: string;
}

/**
 * True when another node may answer where this one could not — the failure was this node's (or
 * the way to it), not the cluster's:
 * - connect, timeout, tls: the node is down, rebooting, unreachable or hung; or its certificate
 *   is wrong (certificates are per node, only the CA is the cluster's).
 * - HTTP 5xx: pveproxy is up but this node cannot serve (595 "no connection", 500 without quorum,
 *   502/503 from a proxy in front of a dead node).
 * - HTTP 408 and 429: this node is too busy right now.
 * - a body cut short: the node went away in the middle of its answer.
 * Not: 401/403 (tokens and ACLs are cluster-wide, every node says the same); any other 4xx (the
 * request itself is refused and every node runs the same pveproxy: asking the others repeats the
 * refusal and buries the mistake in a longer message — a 404 from a mistyped base path is a
 * config error to show, not to route around); a body that does not validate (the cluster's data,
 * which every node serves alike); config problems; the caller's abort.
 */
export function isNodeFault(facts: AttemptFacts): boolean {
  switch (facts.reason) {
    case 'connect':
    case 'timeout':
    case 'tls':
      return true;
    case 'http':
      // No status: something failed before any answer without a network error we know (the
      // library itself, our reader): not evidence against this node.
      return facts.status !== undefined && (facts.status >= 500 || facts.status === 408 || facts.status === 429);
    case 'invalid_response':
      return facts.cutShort;
    case 'auth':
    case 'config':
    case 'aborted':
      return false;
  }
}

/** Why one endpoint failed, without the `proxmox <source>:` prefix and without repeating its origin. */
export function failureText(source: string, failure: Failure): string {
  const prefix = `proxmox ${source}: `;
  const message = failure.error.message.startsWith(prefix) ? failure.error.message.slice(prefix.length) : failure.error.message;
  return message.replace(`cannot connect to ${failure.endpoint.url.origin}: `, 'cannot connect: ');
}

/**
 * The error when no endpoint could list the cluster: each endpoint's failure, in the order tried,
 * in one line. Its reason is the last failure's where a node answered (an HTTP 5xx such as "no
 * quorum" says more than a refused connection), else the last failure's.
 */
export function allFailed(source: string, failures: readonly Failure[]): SourceError {
  const answered = failures.filter((f) => f.error.reason === 'http');
  const telling = answered.at(-1) ?? failures.at(-1);
  const each = failures.map((f) => `${f.endpoint.label}: ${failureText(source, f)}`).join('; ');
  return new SourceError(source, telling?.error.reason ?? 'connect', `no endpoint could list the cluster — ${each}`);
}

/**
 * A cluster-wide failure (auth, an invalid body, the caller's abort) met after other endpoints
 * failed first: the same error and reason, saying which endpoint gave it and what failed before,
 * so the dead node is not forgotten in the message that reaches `status` and the logs.
 */
export function afterFailures(source: string, error: SourceError, at: Endpoint, before: readonly Failure[]): SourceError {
  if (before.length === 0) return error;
  const prefix = `proxmox ${source}: `;
  const detail = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
  const earlier = before.map((f) => `${f.endpoint.label}: ${failureText(source, f)}`).join('; ');
  return new SourceError(source, error.reason, `${detail} (at ${at.label}, after ${earlier})`, { cause: error.cause });
}

/** The failover warning's fields for a listing that `answered` after `failures`. */
export function failoverEvent(source: string, failures: readonly Failure[], answered: Endpoint): FailoverEvent {
  return {
    source,
    failed: failures.map((f) => ({ endpoint: f.endpoint.label, reason: f.error.reason, error: failureText(source, f) })),
    answered: answered.label,
  };
}

/** The failover warning as one line: which endpoints failed, why, and which one answered. */
export function failoverMessage(event: FailoverEvent): string {
  const failed = event.failed.map((f) => `${f.endpoint} failed (${f.error})`).join(', ');
  return `proxmox ${event.source}: ${failed}; listed through ${event.answered}`;
}
