// The one error type `listRecords` throws: a reason code the engine and metrics can switch on,
// and a one-line message that names the (redacted) database and never contains the password.

/**
 * Why billing could not answer:
 * - `connect`: unreachable, refused, lost connection, TLS, unknown database or file;
 * - `auth`: the server refused the user or password;
 * - `query`: the query is wrong for this database (syntax, unknown column, missing vm_id/user_id);
 * - `timeout`: the query (or a lock wait) took longer than `billing.timeoutMs`;
 * - `aborted`: the caller's signal fired (pass timeout or shutdown).
 */
export type BillingFailure = 'connect' | 'auth' | 'query' | 'timeout' | 'aborted';

/** A billing failure: `billing (<redacted url>): <detail>`. */
export class BillingError extends Error {
  override readonly name = 'BillingError';

  /** `target` must already be redacted; `detail` must already be scrubbed. */
  constructor(
    readonly reason: BillingFailure,
    readonly target: string,
    readonly detail: string,
    /** The driver's own error code (`ECONNREFUSED`, `ER_BAD_FIELD_ERROR`, `42703`), for logs. */
    readonly driverCode?: string,
  ) {
    super(`billing (${target}): ${detail}`);
  }
}

/** The error of a query the caller stopped waiting for (its signal fired). */
export function abandoned(target: string, signal: AbortSignal): BillingError {
  const why = signal.reason instanceof Error ? signal.reason.message : signal.reason !== undefined ? String(signal.reason) : 'aborted';
  return new BillingError('aborted', target, `query abandoned: ${why}`);
}

/** What a driver-specific classifier made of a driver error. */
export interface Classified {
  readonly reason: BillingFailure;
  readonly detail: string;
  /** The connection is unusable (killed, reset, server restarted): drop it; a `connect` one is retried once. */
  readonly lost: boolean;
  readonly code?: string;
}

/** The driver's error code and message, whatever shape the driver threw. */
export function errorParts(err: unknown): { code: string | undefined; message: string } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : typeof code === 'number' ? String(code) : undefined, message: err.message };
  }
  return { code: undefined, message: String(err) };
}

/** Network-level failures shared by the MySQL and PostgreSQL drivers; undefined when it is not one of them. */
export function classifyNetworkError(code: string | undefined, message: string, timeoutMs: number): Classified | undefined {
  switch (code) {
    case 'ECONNREFUSED':
      return { reason: 'connect', detail: 'connection refused', lost: false, code };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { reason: 'connect', detail: 'host not found', lost: false, code };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { reason: 'connect', detail: 'host unreachable', lost: false, code };
    case 'ETIMEDOUT':
      return { reason: 'connect', detail: `connection timed out after ${timeoutMs} ms`, lost: true, code };
    case 'ECONNRESET':
    case 'EPIPE':
      return { reason: 'connect', detail: 'connection lost (reset by the server)', lost: true, code };
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'CERT_HAS_EXPIRED':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return {
        reason: 'connect',
        detail: `TLS: ${message} (trust the server's CA with billing.tls.caFile, or set billing.tls.insecure: true)`,
        lost: false,
        code,
      };
    default:
      return undefined;
  }
}

/** Rewords a "connection lost" that happened before the connection was ever usable. */
export function whileConnecting(c: Classified): Classified {
  return c.reason === 'connect' && c.detail.startsWith('connection lost: ')
    ? { ...c, detail: `connection closed while connecting: ${c.detail.slice('connection lost: '.length)}` }
    : c;
}
