// The renewable connection pool both sources share: built once, renewed once per certificate
// failure however many requests saw it, closed only when the requests using it have settled.
import { describe, expect, it } from 'vitest';
import { isCertificateFailure, RenewableAgent } from '../../src/sources/trust.js';

class FakeAgent {
  closed = false;
  constructor(readonly id: number) {}
  async close(): Promise<void> {
    this.closed = true;
  }
}

function holder(options: { failFirst?: boolean } = {}) {
  const made: FakeAgent[] = [];
  let calls = 0;
  const pool = new RenewableAgent(async () => {
    calls++;
    await new Promise((r) => setTimeout(r, 5));
    if (options.failFirst && calls === 1) throw new Error('cannot read tls.caFile');
    const agent = new FakeAgent(made.length);
    made.push(agent);
    return agent;
  });
  return { pool, made, calls: () => calls };
}

/** An error shaped like undici's `fetch failed` around Node's TLS error. */
function wrapped(code: string): Error {
  const inner = Object.assign(new Error('some tls text'), { code });
  return new TypeError('fetch failed', { cause: inner });
}

describe('RenewableAgent', () => {
  it('concurrent requests share one build', async () => {
    const { pool, made } = holder();
    const leases = await Promise.all(Array.from({ length: 10 }, () => pool.acquire()));
    expect(made).toHaveLength(1);
    expect(new Set(leases.map((l) => l.agent)).size).toBe(1);
  });

  it('a burst of failures through one pool renews it once; the old one closes when its last request settles', async () => {
    const { pool, made } = holder();
    const leases = await Promise.all(Array.from({ length: 5 }, () => pool.acquire()));
    const old = leases[0]!.agent;
    for (const l of leases.slice(0, 4)) {
      pool.renew(l.agent);
      l.release();
    }
    // One request is still using the old pool: not closed under it.
    expect(old.closed).toBe(false);
    const next = await Promise.all(Array.from({ length: 5 }, () => pool.acquire()));
    expect(made).toHaveLength(2);
    expect(new Set(next.map((l) => l.agent))).toEqual(new Set([made[1]]));
    // A late failure through the old pool does not give up the new one.
    pool.renew(old);
    expect((await pool.acquire()).agent).toBe(made[1]);
    leases[4]!.release();
    expect(old.closed).toBe(true);
    expect(made[1]!.closed).toBe(false);
    // A lease released twice counts once.
    leases[4]!.release();
  });

  it('a pool given up with no request on it closes at once', async () => {
    const { pool } = holder();
    const lease = await pool.acquire();
    lease.release();
    pool.renew(lease.agent);
    expect(lease.agent.closed).toBe(true);
  });

  it('a failed build is not kept: the next request builds again', async () => {
    const { pool, calls } = holder({ failFirst: true });
    await expect(pool.acquire()).rejects.toThrow('cannot read tls.caFile');
    const lease = await pool.acquire();
    expect(calls()).toBe(2);
    expect(lease.agent.id).toBe(0);
  });

  it('close() closes the current pool and those given up, even with requests on them', async () => {
    const { pool, made } = holder();
    const a = await pool.acquire();
    pool.renew(a.agent);
    await pool.acquire();
    await pool.close();
    expect(made.map((m) => m.closed)).toEqual([true, true]);
    a.release();
  });
});

describe('isCertificateFailure', () => {
  it.each(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED'])(
    '%s (wrapped by undici) is one',
    (code) => {
      expect(isCertificateFailure(wrapped(code))).toBe(true);
      expect(isCertificateFailure(Object.assign(new Error('x'), { code }))).toBe(true);
    },
  );

  it.each(['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'ERR_SSL_WRONG_VERSION_NUMBER', 'EPROTO', 'ERR_TLS_CERT_ALTNAME_INVALID'])(
    '%s is not (a new CA file cannot cure it)',
    (code) => {
      expect(isCertificateFailure(wrapped(code))).toBe(false);
    },
  );

  it('an abort or a plain error is not', () => {
    expect(isCertificateFailure(new DOMException('aborted', 'AbortError'))).toBe(false);
    expect(isCertificateFailure('text')).toBe(false);
    expect(isCertificateFailure(undefined)).toBe(false);
  });
});
