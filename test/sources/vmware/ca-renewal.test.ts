// A renewed vCenter CA without a restart: the source keeps its connection pool (and the CA read
// from tls.caFile) while requests work, builds one new pool — reading the CA file again — after
// requests failed the server's certificate, closes the old pool only once the requests still using
// it have settled, and never re-reads the file for a plain network failure.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent, Dispatcher } from 'undici';
import { afterEach, describe, expect, test } from 'vitest';
import { generateSelfSignedCert, type SelfSignedCert } from '../../../src/simulators/tls.js';
import { VsphereSimulator } from '../../../src/simulators/vsphere/server.js';
import { VsphereHttp, type RequestLike } from '../../../src/sources/vmware/http.js';
import { createVmwareSource, VsphereError, type VmwareSource } from '../../../src/sources/vmware/index.js';
import { captureLogger, noAbort, PASSWORD, sourceConfig, startSim, USERNAME, type SimHandle } from './helpers.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The dispatcher of every request sent, in order. */
let dispatchers: Dispatcher[] = [];
const recording: RequestLike = (dispatcher, options) => {
  dispatchers.push(dispatcher);
  return dispatcher.request(options);
};

function distinct(from = 0): Dispatcher[] {
  return [...new Set(dispatchers.slice(from))];
}

async function failure(promise: Promise<unknown>): Promise<VsphereError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(VsphereError);
  return error as VsphereError;
}

describe('vmware source: the CA file is read again after a certificate failure', () => {
  async function started(): Promise<{ handle: SimHandle; source: VmwareSource }> {
    dispatchers = [];
    const handle = await startSim();
    cleanups.push(() => handle.stop());
    handle.sim.upsertVm({ name: 'before' });
    const source = createVmwareSource(sourceConfig(handle), { logger: captureLogger().logger, request: recording });
    cleanups.push(() => source.close());
    expect((await source.listVms(noAbort())).vms.map((v) => v.name)).toEqual(['before']);
    return { handle, source };
  }

  /** The vCenter restarted on the same port with a certificate from a new CA. */
  async function renewed(handle: SimHandle): Promise<{ sim: VsphereSimulator; caPem: string }> {
    await handle.sim.stop();
    const sim = new VsphereSimulator({ username: USERNAME, password: PASSWORD, port: Number(new URL(handle.url).port) });
    const { caPem } = await sim.start();
    cleanups.push(() => sim.stop());
    sim.upsertVm({ name: 'after' });
    return { sim, caPem };
  }

  test('certificate renewed under a new CA and the CA file replaced → one failed listing, then the same source lists again', async () => {
    const { handle, source } = await started();
    const { caPem } = await renewed(handle);
    expect(caPem).not.toBe(await readFile(handle.caFile, 'utf8'));
    await writeFile(handle.caFile, caPem);

    const error = await failure(source.listVms(noAbort()));
    expect(error.reason).toBe('tls');
    expect(error.message).toMatch(/not trusted/);
    const old = distinct()[0] as Agent;
    expect(distinct()).toHaveLength(1);

    const mark = dispatchers.length;
    expect((await source.listVms(noAbort())).vms.map((v) => v.name)).toEqual(['after']);
    // One new pool for every request of the listing (login, listings, details), read from CA-2.
    expect(distinct(mark)).toHaveLength(1);
    expect(distinct(mark)[0]).not.toBe(old);
    await expect.poll(() => old.closed).toBe(true);
  });

  test('the CA file replaced before the certificate changed: listings go on with the old CA until the first certificate failure', async () => {
    const { handle, source } = await started();
    const future = await generateSelfSignedCert();
    await writeFile(handle.caFile, future.cert);
    // Not read again while the certificate is still trusted.
    expect((await source.listVms(noAbort())).vms).toHaveLength(1);
    expect(distinct()).toHaveLength(1);
    const { caPem } = await renewed(handle);
    await writeFile(handle.caFile, caPem);
    expect((await failure(source.listVms(noAbort()))).reason).toBe('tls');
    expect((await source.listVms(noAbort())).vms.map((v) => v.name)).toEqual(['after']);
  });

  test('refused connections keep the pool: the CA file is not read again (deleting it changes nothing)', async () => {
    const { handle, source } = await started();
    await rm(handle.caFile);
    await handle.sim.stop();
    // The first listing may meet a pooled connection the server closed (UND_ERR_SOCKET), the next
    // ones a refused connection; none turns into "cannot read tls.caFile".
    let error: VsphereError | undefined;
    for (let i = 0; i < 3; i++) {
      error = await failure(source.listVms(noAbort()));
      expect(error.reason).toBe('connect');
      expect(error.message).not.toMatch(/caFile/);
    }
    expect(error?.message).toMatch(/ECONNREFUSED/);
    expect(distinct()).toHaveLength(1);
  });
});

describe('VsphereHttp: concurrent requests across a certificate change', () => {
  /** An HTTPS server whose certificate can be changed for new connections; `/slow` answers after 400 ms. */
  async function server(cert: SelfSignedCert): Promise<{ server: Server; url: string }> {
    const s = createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
      const answer = () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ path: req.url }));
      };
      if (req.url === '/slow') setTimeout(answer, 400);
      else answer();
    });
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeAllConnections();
        }),
    );
    return { server: s, url: `https://127.0.0.1:${(s.address() as AddressInfo).port}` };
  }

  test('a burst of certificate failures builds one new pool; a request in flight on the old one completes', async () => {
    dispatchers = [];
    const ca1 = await generateSelfSignedCert();
    const ca2 = await generateSelfSignedCert();
    const dir = await mkdtemp(join(tmpdir(), 'vsphere-ca-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const caFile = join(dir, 'ca.pem');
    await writeFile(caFile, ca1.cert);
    const { server: s, url } = await server(ca1);
    const http = new VsphereHttp({ source: 'vc1', url, tls: { insecure: false, caFile }, timeoutMs: 5_000 }, recording);
    cleanups.push(() => http.close());
    const get = (path: string) => http.send({ method: 'GET', path, signal: noAbort() }, `GET ${path}`);

    expect((await get('/warm')).status).toBe(200);
    const old = distinct()[0] as Agent;
    // On the connection made under CA-1, still answering when the certificate changes.
    const slow = get('/slow');
    await new Promise((r) => setTimeout(r, 50));
    // New ticket keys too, as a restarted server has: no TLS session made under CA-1 is resumed.
    s.setSecureContext({ cert: ca2.cert, key: ca2.key, ticketKeys: randomBytes(48) });
    await writeFile(caFile, ca2.cert);

    // Many requests at once meet the new certificate on new connections.
    const burst = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => get(`/burst/${i}`)));
    // Those on new connections fail the certificate; one queued behind `/slow` on the connection
    // made under CA-1 may still be answered there (the old pool is not cut short under it).
    const rejected = burst.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected.length).toBeGreaterThanOrEqual(10);
    for (const r of rejected) expect((r.reason as VsphereError).reason).toBe('tls');
    for (const r of burst) if (r.status === 'fulfilled') expect(r.value.status).toBe(200);
    // The old pool is given up but not closed under the request still using it.
    expect(old.closed).toBe(false);
    expect((await slow).status).toBe(200);
    await expect.poll(() => old.closed).toBe(true);

    // Every request after the burst goes through one new pool, built from CA-2.
    const mark = dispatchers.length;
    const after = await Promise.all(Array.from({ length: 10 }, (_, i) => get(`/after/${i}`)));
    expect(after.every((a) => a.status === 200)).toBe(true);
    expect(distinct(mark)).toHaveLength(1);
    expect(distinct(mark)[0]).not.toBe(old);
  });

  test('a timeout does not give the pool up', async () => {
    dispatchers = [];
    const ca = await generateSelfSignedCert();
    const dir = await mkdtemp(join(tmpdir(), 'vsphere-ca-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const caFile = join(dir, 'ca.pem');
    await writeFile(caFile, ca.cert);
    const { url } = await server(ca);
    const http = new VsphereHttp({ source: 'vc1', url, tls: { insecure: false, caFile }, timeoutMs: 100 }, recording);
    cleanups.push(() => http.close());
    await http.send({ method: 'GET', path: '/warm', signal: noAbort() }, 'GET /warm');
    await rm(caFile);
    expect((await failure(http.send({ method: 'GET', path: '/slow', signal: noAbort() }, 'GET /slow'))).reason).toBe('timeout');
    expect((await http.send({ method: 'GET', path: '/again', signal: noAbort() }, 'GET /again')).status).toBe(200);
    expect(distinct()).toHaveLength(1);
  });
});
