// One error type for everything that can go wrong talking to vCenter, with a reason code
// the engine and metrics can group by. Messages are one line and never hold secrets.

/**
 * - connect: no TCP/HTTP connection (refused, reset, DNS);
 * - tls: the certificate was not trusted;
 * - auth: login refused, or still 401 after logging in again;
 * - timeout: a call (headers and body) took longer than `timeoutMs`;
 * - http: an unexpected status;
 * - invalid_response: the JSON is not what vCenter sends;
 * - shard: one slice of a sharded listing failed, so the whole listing is unusable;
 * - config: the configuration does not fit this vCenter (unknown cluster, bad regex);
 * - aborted: the caller's signal fired (the pass was cancelled).
 */
export type VsphereReason = 'connect' | 'tls' | 'auth' | 'timeout' | 'http' | 'invalid_response' | 'shard' | 'config' | 'aborted';

/** A failure talking to one vCenter. */
export class VsphereError extends Error {
  override readonly name = 'VsphereError';
  /** HTTP status when there was an answer. */
  readonly status: number | undefined;
  /** vAPI error kind in `/api` spelling (`UNABLE_TO_ALLOCATE_RESOURCE`), when the body said. */
  readonly vapiKind: string | undefined;

  constructor(
    readonly reason: VsphereReason,
    message: string,
    options: { cause?: unknown; status?: number; vapiKind?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
    this.vapiKind = options.vapiKind;
  }

  /** Worth trying again next pass without anyone changing the configuration. */
  get retryable(): boolean {
    return !(this.reason === 'auth' || this.reason === 'tls' || this.reason === 'config');
  }
}

/** Builds the one-line message all errors share: `vc1 [reason]: what: detail`. */
export function vsphereError(
  source: string,
  reason: VsphereReason,
  what: string,
  detail: string,
  options?: { cause?: unknown; status?: number; vapiKind?: string },
): VsphereError {
  return new VsphereError(reason, `vmware ${source} [${reason}]: ${what}: ${oneLine(detail)}`, options);
}

/** Squeezes text from the wire into one short printable line. */
export function oneLine(text: string, max = 300): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
