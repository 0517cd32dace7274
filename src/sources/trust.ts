// A source's connection pool, kept for the life of the process but renewed when the server's
// certificate stops being trusted: the pool holds the CA read from `tls.caFile` when it was built,
// so after the cluster's certificate is renewed under a new CA (and the operator replaced the CA
// file) the next listing must build a new pool, which reads the file again. Nothing is read while
// listings work, and a plain network failure (refused, timeout, reset) keeps the pool: the CA has
// nothing to do with it.
//
// Requests borrow the pool (`acquire`, then `release`). A pool given up (`renew`) is closed once the
// last request that borrowed it has settled, so a burst of concurrent requests that all fail (or a
// request still reading its answer on a connection made before the certificate changed) is never cut
// short, and the many failures of one burst build one new pool, not one each.

/** What the holder needs of a pool: undici's Agent has it. */
export interface Closable {
  close(): Promise<void>;
}

/** One borrowed pool; `release()` exactly once when the request using it has settled. */
export interface Lease<T> {
  readonly agent: T;
  release(): void;
}

interface Entry<T> {
  readonly agent: T;
  leases: number;
  /** Given up: no new lease; closed when `leases` falls to 0. */
  retired: boolean;
}

/**
 * OpenSSL's verify errors that a different CA could cure: the chain does not end at a trusted CA,
 * or a certificate in it (the CA in the file included) is outside its validity period. Not the
 * host-name check (ERR_TLS_CERT_ALTNAME_INVALID: the leaf, not the CA) and not protocol failures
 * (http spoken to an https port, EPROTO): a new CA file cannot change those.
 */
export const CERTIFICATE_CODES: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
]);

/** True when `err` (or an error along its `cause` chain: undici wraps Node's) is a certificate verification failure. */
export function isCertificateFailure(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < 8 && e instanceof Error; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && CERTIFICATE_CODES.has(code)) return true;
    e = e.cause;
  }
  return false;
}

/** Holds one source's pool: built on first use, renewed after a certificate failure, closed by `close()`. */
export class RenewableAgent<T extends Closable> {
  private current: Promise<Entry<T>> | null = null;
  /** Pools given up that requests still use. */
  private readonly retiring = new Set<Entry<T>>();
  private readonly entries = new WeakMap<T, Entry<T>>();

  /** @param build makes a pool (reads the CA file); a failure is thrown to the requests waiting for it and tried again by the next. */
  constructor(private readonly build: () => Promise<T>) {}

  /** Borrows the current pool, building it first if there is none. */
  async acquire(): Promise<Lease<T>> {
    for (;;) {
      const pending = (this.current ??= this.start());
      const entry = await pending;
      // Renewed while we waited for it: borrow the new one instead.
      if (entry.retired) continue;
      entry.leases++;
      let released = false;
      return {
        agent: entry.agent,
        release: () => {
          if (released) return;
          released = true;
          entry.leases--;
          this.closeIfIdle(entry);
        },
      };
    }
  }

  /**
   * Gives up `agent` after a request through it failed for its certificate: the next `acquire`
   * builds a new pool (reading the CA file again). A no-op when `agent` was already given up, so a
   * burst of failures through one pool renews it once. The pool is closed when the requests still
   * using it have settled.
   */
  renew(agent: T): void {
    const entry = this.entries.get(agent);
    if (!entry || entry.retired) return;
    entry.retired = true;
    this.current = null;
    this.retiring.add(entry);
    this.closeIfIdle(entry);
  }

  /** Closes the current pool and any given up; the next `acquire` builds a new one. */
  async close(): Promise<void> {
    const pending = this.current;
    this.current = null;
    const entries = [...this.retiring];
    this.retiring.clear();
    const entry = pending ? await pending.catch(() => null) : null;
    if (entry) {
      entry.retired = true;
      entries.push(entry);
    }
    await Promise.all(entries.map((e) => e.agent.close().catch(() => undefined)));
  }

  private start(): Promise<Entry<T>> {
    const pending = this.build().then((agent) => {
      const entry: Entry<T> = { agent, leases: 0, retired: false };
      this.entries.set(agent, entry);
      return entry;
    });
    // A failed build (unreadable CA file) is not kept: the next request tries again.
    pending.catch(() => {
      if (this.current === pending) this.current = null;
    });
    return pending;
  }

  /** Closes a given-up pool nobody uses any more; not awaited, so no request waits for it. */
  private closeIfIdle(entry: Entry<T>): void {
    if (!entry.retired || entry.leases > 0 || !this.retiring.delete(entry)) return;
    entry.agent.close().catch(() => undefined);
  }
}
