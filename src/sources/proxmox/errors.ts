// Why a Proxmox listing failed, as one clear line an operator can act on, plus a short code
// for metrics. Low-level errors (undici, Node TLS) are turned into these here and nowhere else.

/**
 * - `config`: the source config cannot be used (unreadable CA file, malformed token)
 * - `connect`: no TCP connection, or it was lost before an answer
 * - `tls`: the certificate is not trusted or the handshake failed
 * - `auth`: 401/403
 * - `timeout`: `timeoutMs` elapsed (headers or body)
 * - `aborted`: the caller's signal fired (pass deadline, shutdown)
 * - `http`: any other non-200 answer
 * - `invalid_response`: 200 but not a JSON guest list (wrong type, not JSON, truncated)
 */
export type SourceErrorReason = 'config' | 'connect' | 'tls' | 'auth' | 'timeout' | 'aborted' | 'http' | 'invalid_response';

/** A listing failure of one source; the message starts with `proxmox <name>:` and holds no secret. */
export class SourceError extends Error {
  override readonly name = 'SourceError';

  constructor(
    readonly source: string,
    readonly reason: SourceErrorReason,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`proxmox ${source}: ${detail}`, options);
  }
}

const TRUST_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

const CONNECT_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the server',
  ENOTFOUND: 'host name not found (DNS)',
  EAI_AGAIN: 'host name lookup failed temporarily (DNS)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed by the server',
  EPIPE: 'connection closed by the server',
};

/** The first `code` along an error's cause chain (undici wraps the Node error in `fetch failed`). */
export function errorCode(err: unknown): { code: string | undefined; message: string } {
  let e: unknown = err;
  let message = err instanceof Error ? err.message : String(err);
  for (let depth = 0; depth < 6 && e instanceof Error; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return { code, message: e.message };
    message = e.message;
    e = e.cause;
  }
  return { code: undefined, message };
}

/** Classifies a network-level failure of the request (no HTTP answer was received). */
export function networkError(source: string, origin: string, err: unknown): SourceError {
  const { code, message } = errorCode(err);
  const cause = { cause: err };
  if (code && TRUST_CODES.has(code)) {
    return new SourceError(
      source,
      'tls',
      `TLS certificate not trusted (${message}) — set tls.caFile to the cluster's CA (/etc/pve/pve-root-ca.pem) or tls.insecure: true`,
      cause,
    );
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new SourceError(source, 'tls', `TLS certificate does not match the host of ${origin} (${message}) — use the name the certificate was issued for`, cause);
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return new SourceError(source, 'tls', `TLS certificate of ${origin} is outside its validity period (${message})`, cause);
  }
  if (code?.startsWith('ERR_SSL_') || code === 'EPROTO' || code?.startsWith('ERR_TLS_')) {
    return new SourceError(source, 'tls', `TLS handshake with ${origin} failed (${message}) — is the URL's http/https right?`, cause);
  }
  const text = (code && CONNECT_TEXT[code]) ?? message;
  return new SourceError(source, 'connect', `cannot connect to ${origin}: ${text}`, cause);
}
