// What the HTTP endpoints (and SIGHUP) may ask of the running daemon, and what they may read.
// Everything here is secret-free by construction: it is served on /status.
import type { DriftClass, SourceEndpoint } from '../domain/types.js';
import type { PassResult } from './observer.js';

/** A pass as /status shows it. */
export interface PassSummary {
  readonly id: number;
  readonly startedAt: string; // ISO 8601
  readonly finishedAt: string | null;
  readonly result: PassResult | 'running';
  readonly full: boolean;
  readonly durationSeconds: number | null;
  readonly actions: { readonly planned: number; readonly ok: number; readonly failed: number; readonly ambiguous: number };
  readonly drift: Readonly<Record<DriftClass, number>>;
  /** One line per problem (failed source, billing down, rejected items), secrets scrubbed. */
  readonly problems: readonly string[];
}

export interface SourceStatus {
  readonly name: string;
  readonly kind: 'proxmox' | 'vmware';
  readonly up: boolean | null; // null: not listed yet
  readonly vms: number | null;
  readonly lastError: string | null;
  readonly lastListedAt: string | null;
  /** Guests the last listing named without a state (a Proxmox node offline), per node; null when none. */
  readonly unreported: { readonly vms: number; readonly nodes: Readonly<Record<string, number>> } | null;
  /** The endpoint that answered the last listing; null when none did or the source does not say (vSphere). */
  readonly endpoint: EndpointStatus | null;
}

/** Which endpoint a source reads from (Proxmox: `url`, or one of `fallbackUrls` after `url` failed). */
export interface EndpointStatus {
  /** Origin and base path, never credentials. */
  readonly url: string;
  /** True when it is not the configured `url`: that node could not answer, and is asked first again 10 minutes after it last failed (or when this one fails, or the daemon restarts). */
  readonly fallback: boolean;
  /** With a fallback: the configured `url` and when it last failed (ISO 8601); null otherwise. */
  readonly primary: { readonly url: string; readonly failedAt: string } | null;
}

/** The stored endpoint as `status` shows it (the daemon's /status and the CLI alike). */
export function endpointStatus(endpoint: SourceEndpoint | null | undefined): EndpointStatus | null {
  if (!endpoint) return null;
  const { primary } = endpoint;
  // A time no Date can hold (a hand-edited state file) must not make /status throw.
  const failedAt = primary ? new Date(primary.failedAt) : null;
  const known = primary && failedAt && !Number.isNaN(failedAt.getTime()) ? { url: primary.url, failedAt: failedAt.toISOString() } : null;
  return { url: endpoint.url, fallback: endpoint.fallback, primary: known };
}

/** The JSON body of GET /status. */
export interface DaemonStatus {
  readonly version: string;
  readonly startedAt: string;
  readonly passRunning: boolean;
  readonly lastSuccessAt: string | null;
  readonly lastFullResyncAt: string | null;
  readonly billing: { readonly up: boolean | null; readonly lastError: string | null };
  readonly sources: readonly SourceStatus[];
  readonly outbox: {
    readonly pending: number;
    readonly failed: number;
    readonly ambiguous: number;
    /** VM keys of the ambiguous creates (at most 100), for `resolve`. */
    readonly ambiguousKeys: readonly string[];
  };
  readonly snapshot: { readonly vps: number };
  readonly lastPasses: readonly PassSummary[];
}

/** What a pass is asked for with. Coalesced requests combine: any full makes it full, any force forced. */
export interface PassRequest {
  /** Re-send every desired VPS and retry failed items now. */
  readonly full: boolean;
  /** Lift the delete guards' count and fraction limits for that pass (an operator's decision about held deletes). */
  readonly force?: boolean;
  /** Who asked, for the log line of the pass. */
  readonly reason: string;
}

/** The running daemon as seen by its HTTP endpoints. */
export interface DaemonControl {
  status(): DaemonStatus;
  /** Asks for a pass soon. Requests made while one is queued coalesce; one made during a running pass queues exactly one more. */
  requestPass(options: PassRequest): { queued: boolean; coalesced: boolean };
  /** Wall-clock ms of the last successful pass end, or null. Used by /readyz. */
  lastSuccessAtMs(): number | null;
}
