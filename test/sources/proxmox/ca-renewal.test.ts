// A renewed cluster CA without a restart: the source keeps its connection pool (and the CA read
// from tls.caFile) while listings work, builds a new one — reading the CA file again — after a
// listing failed the server's certificate, and never re-reads the file for a plain network failure.
// The cluster is a simulator over real HTTPS on loopback; "the certificate renewed under a new CA"
// is the simulator restarted on the same port with a new self-signed certificate (its own CA).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { fetch as undiciFetch, type Agent, type Dispatcher } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { proxmoxSourceSchema } from '../../../src/config/schema.js';
import type { VmSource } from '../../../src/domain/ports.js';
import { ProxmoxSimulator } from '../../../src/simulators/proxmox/index.js';
import type { FetchFn } from '../../../src/sources/proxmox/capture.js';
import { createProxmoxSource } from '../../../src/sources/proxmox/index.js';
import { accepting } from '../../support/ports.js';
import { failure, never, TOKEN_ID, TOKEN_SECRET } from './helpers.js';

const TOKENS = [{ tokenId: TOKEN_ID, secret: TOKEN_SECRET }];

let dir: string;
let caFile: string;
/** Every simulator started by a test, stopped after it. */
let sims: ProxmoxSimulator[];
let sources: VmSource[];
/** The dispatcher of every request the sources sent, in order. */
let dispatchers: Dispatcher[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pve-ca-renewal-'));
  caFile = join(dir, 'pve-root-ca.pem');
  sims = [];
  sources = [];
  dispatchers = [];
});

afterEach(async () => {
  await Promise.all(sources.map((s) => s.close()));
  await Promise.all(sims.map((s) => s.stop()));
  await rm(dir, { recursive: true, force: true });
});

/** Starts a node: on `port` (0: any), with its own new certificate or `nodeOf`'s. */
async function startNode(options: { port?: number; nodeOf?: ProxmoxSimulator } = {}): Promise<{ sim: ProxmoxSimulator; url: string; caPem: string }> {
  const sim = new ProxmoxSimulator({ tokens: TOKENS, ...options });
  sims.push(sim);
  const { url, caPem } = await sim.start();
  if (!options.nodeOf) sim.inventory.seed(12, { seed: 3 });
  return { sim, url, caPem };
}

/** Stops `sim` and starts a node on the same port with a new certificate (a new CA), or `nodeOf`'s. */
async function restartRenewed(sim: ProxmoxSimulator, url: string, nodeOf?: ProxmoxSimulator): Promise<{ sim: ProxmoxSimulator; caPem: string }> {
  await sim.stop();
  const started = await startNode({ port: Number(new URL(url).port), ...(nodeOf ? { nodeOf } : {}) });
  return { sim: started.sim, caPem: started.caPem };
}

const recordingFetch: FetchFn = (input, init) => {
  if (init?.dispatcher) dispatchers.push(init.dispatcher);
  return undiciFetch(input, init);
};

function source(url: string, fallbackUrls: string[] = []): VmSource {
  const config = proxmoxSourceSchema.parse({ name: 'pve1', type: 'proxmox', url, fallbackUrls, tokenId: TOKEN_ID, tokenSecret: TOKEN_SECRET, tls: { caFile }, timeoutMs: 5000 });
  const s = createProxmoxSource(config, { logger: pino({ level: 'silent' }), fetch: recordingFetch });
  sources.push(s);
  return s;
}

/** The distinct dispatchers among `dispatchers` from index `from` on. */
function distinct(from = 0): Dispatcher[] {
  return [...new Set(dispatchers.slice(from))];
}

describe('proxmox source: the CA file is read again after a certificate failure', () => {
  it('certificate renewed under a new CA and the CA file replaced → one failed listing, then the same source lists again', async () => {
    const first = await startNode();
    await writeFile(caFile, first.caPem);
    const s = source(first.url);
    expect((await s.listVms(never())).vms).toHaveLength(12);

    const renewed = await restartRenewed(first.sim, first.url);
    renewed.sim.inventory.seed(7, { seed: 4 });
    expect(renewed.caPem).not.toBe(first.caPem);
    await writeFile(caFile, renewed.caPem);

    // The pool built with CA-1 meets the CA-2 certificate: this listing fails, and gives the pool up.
    const err = await failure(() => s.listVms(never()));
    expect(err.reason).toBe('tls');
    expect(err.message).toContain('TLS certificate not trusted');
    const old = distinct()[0] as Agent;

    // The next listing builds a new pool, reading the CA file (CA-2) again: no restart, no new source.
    const mark = dispatchers.length;
    expect((await s.listVms(never())).vms).toHaveLength(7);
    expect(distinct(mark)).toHaveLength(1);
    expect(distinct(mark)[0]).not.toBe(old);
    // The pool given up is closed (nothing uses it any more), not left holding sockets.
    await expect.poll(() => old.closed).toBe(true);
  });

  it('the CA file replaced before the certificate changed: kept until then, picked up at the first certificate failure', async () => {
    const first = await startNode();
    // The node that will serve the renewed certificate (and its CA) is started on another port first.
    const future = await startNode();
    await writeFile(caFile, first.caPem);
    const s = source(first.url);
    await s.listVms(never());

    // The operator puts CA-2 in place early: while the node still has its CA-1 certificate, the
    // listings go on with the pool built from CA-1 (the file is not read on every pass).
    await writeFile(caFile, future.caPem);
    expect((await s.listVms(never())).vms).toHaveLength(12);
    expect(distinct()).toHaveLength(1);

    await restartRenewed(first.sim, first.url, future.sim);
    expect((await failure(() => s.listVms(never()))).reason).toBe('tls');
    expect((await s.listVms(never())).vms).toHaveLength(12);
    expect(distinct()).toHaveLength(2);
  });

  it('with fallbackUrls: every node renewed → the listing fails at each through one pool, the next lists through one new pool', async () => {
    const a = await startNode();
    const b = await startNode({ nodeOf: a.sim });
    await writeFile(caFile, a.caPem);
    const s = source(a.url, [b.url]);
    await s.listVms(never());

    // The whole cluster renewed: a node with a new CA, the other sharing it (one pve-root-ca).
    const a2 = await restartRenewed(a.sim, a.url);
    a2.sim.inventory.seed(5, { seed: 9 });
    await restartRenewed(b.sim, b.url, a2.sim);
    await writeFile(caFile, a2.caPem);

    const mark = dispatchers.length;
    const err = await failure(() => s.listVms(never()));
    expect(err.reason).toBe('tls');
    expect(err.message).toContain('no endpoint could list the cluster');
    // Both endpoints were asked through the same (old) pool in that listing.
    expect(distinct(mark)).toEqual([distinct()[0]]);

    const next = dispatchers.length;
    expect((await s.listVms(never())).vms).toHaveLength(5);
    expect(distinct(next)).toHaveLength(1);
    expect(distinct()).toHaveLength(2);
  });

  it('a refused connection keeps the pool: the CA file is not read again (deleting it changes nothing)', async () => {
    const node = await startNode();
    await writeFile(caFile, node.caPem);
    const s = source(node.url);
    await s.listVms(never());
    await rm(caFile);

    node.sim.faults.set({ kind: 'down', mode: 'refuse' });
    for (let i = 0; i < 2; i++) {
      const err = await failure(() => s.listVms(never()));
      expect(err.reason).toBe('connect');
      expect(err.message).toContain('connection refused');
      expect(err.message).not.toContain('tls.caFile');
    }
    node.sim.faults.clear('down');
    await accepting(node.url);
    // Still the pool built before the file was deleted.
    expect((await s.listVms(never())).vms).toHaveLength(12);
    expect(distinct()).toHaveLength(1);
  });

  it('a certificate failure with the file gone: the next listing says the CA file cannot be read', async () => {
    const first = await startNode();
    await writeFile(caFile, first.caPem);
    const s = source(first.url);
    await s.listVms(never());
    await restartRenewed(first.sim, first.url);
    await rm(caFile);
    expect((await failure(() => s.listVms(never()))).reason).toBe('tls');
    const err = await failure(() => s.listVms(never()));
    expect(err.reason).toBe('config');
    expect(err.message).toContain(`cannot read tls.caFile ${caFile}: no such file`);
  });
});
