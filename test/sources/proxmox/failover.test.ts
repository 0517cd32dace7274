// Endpoint failover: a Proxmox source with `fallbackUrls` lists the cluster through the next node
// when the one asked cannot answer for the cluster, sticks to the node that answered, and reports
// cluster-wide failures (auth, an invalid body) as before. Three simulators with the same token
// and the same seeded inventory stand in for three nodes of one cluster, over real HTTP on
// loopback. Each simulator makes its own self-signed certificate, all with the same subject, so
// one CA file cannot trust several of them the way pve-root-ca trusts every node of a cluster;
// the TLS cases use two HTTPS simulators, one trusted and one not.
import http from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { proxmoxSourceSchema } from '../../../src/config/schema.js';
import type { VmSource } from '../../../src/domain/ports.js';
import { ProxmoxSimulator } from '../../../src/simulators/proxmox/index.js';
import { createProxmoxSource, SourceError } from '../../../src/sources/proxmox/index.js';
import { everything, failure, never, TOKEN_ID, TOKEN_SECRET } from './helpers.js';
import { accepting } from '../../support/ports.js';

const RESOURCES = '/api2/json/cluster/resources';
const TOKENS = [{ tokenId: TOKEN_ID, secret: TOKEN_SECRET }];

let nodes: ProxmoxSimulator[];
let urls: string[];
/** A bare HTTP server standing in for one node's pveproxy (or a proxy in front of it), answering `rawAnswer`. */
let raw: http.Server;
let rawUrl: string;
let rawAnswer = { status: 595, text: 'Errors during connection establishment, proxy handshake failed' };

beforeAll(async () => {
  nodes = [0, 1, 2].map(() => new ProxmoxSimulator({ tokens: TOKENS, tls: false }));
  urls = (await Promise.all(nodes.map((n) => n.start()))).map((s) => s.url);
  raw = http.createServer((_req, res) => {
    res.writeHead(rawAnswer.status, rawAnswer.text, { 'content-type': 'application/json;charset=UTF-8' });
    res.end('{"data":null}');
  });
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
  rawUrl = `http://127.0.0.1:${(raw.address() as { port: number }).port}`;
});

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  await new Promise((resolve) => raw.close(resolve));
});

let sources: VmSource[] = [];
let logLines: string[] = [];

beforeEach(async () => {
  for (const n of nodes) {
    n.faults.clear();
    // The same seed on every node: one cluster, whichever node answers.
    n.inventory.seed(40, { nodes: 3, seed: 11 });
    n.counters.reset();
  }
  await Promise.all(urls.map(accepting));
  logLines = [];
});

afterEach(async () => {
  await Promise.all(sources.map((s) => s.close()));
  sources = [];
});

/** A source listing through `endpoints` (the first is `url`), logging into `logLines`. */
function source(endpoints: string[], overrides: Record<string, unknown> = {}): VmSource {
  const [url, ...fallbackUrls] = endpoints;
  const config = proxmoxSourceSchema.parse({ name: 'pve1', type: 'proxmox', url, fallbackUrls, tokenId: TOKEN_ID, tokenSecret: TOKEN_SECRET, timeoutMs: 3000, ...overrides });
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const s = createProxmoxSource(config, { logger: pino({ level: 'trace' }, sink) });
  sources.push(s);
  return s;
}

/** The warnings logged so far (pino level 40). */
function warnings(): { msg: string; failed: { endpoint: string; reason: string; error: string }[]; answered: string }[] {
  return logLines.map((l) => JSON.parse(l) as { level: number }).filter((l) => l.level === 40) as never;
}

/** Listing requests each node received. */
function hits(): number[] {
  return nodes.map((n) => n.counters.get(RESOURCES));
}

function expectNoSecret(err?: unknown): void {
  expect(logLines.join('\n')).not.toContain(TOKEN_SECRET);
  if (err !== undefined) expect(everything(err)).not.toContain(TOKEN_SECRET);
}

const [A, B, C] = [0, 1, 2];

describe('proxmox endpoint failover', () => {
  it('all endpoints up: only the primary is asked, nothing is logged above debug', async () => {
    const { vms } = await source(urls).listVms(never());
    expect(vms.length).toBeGreaterThan(0);
    expect(hits()).toEqual([1, 0, 0]);
    expect(warnings()).toEqual([]);
    const done = logLines.map((l) => JSON.parse(l) as { msg: string; endpoint?: string }).find((l) => l.msg === 'proxmox listing done');
    expect(done?.endpoint).toBe(urls[A]);
  });

  it.each([
    { mode: 'refuse' as const, why: /^cannot connect: connection refused$/ },
    { mode: 'reset' as const, why: /^cannot connect: connection (closed|reset) by the server$/ },
  ])('primary down ($mode) → listed through the first fallback, one warning', async ({ mode, why }) => {
    const expected = (await source([urls[B]!]).listVms(never())).vms;
    nodes[A]!.faults.set({ kind: 'down', mode });
    const { vms } = await source(urls).listVms(never());
    expect(vms).toEqual(expected);
    expect(hits()[C]).toBe(0);
    const [warning, ...more] = warnings();
    expect(more).toEqual([]);
    expect(warning!.failed).toEqual([{ endpoint: urls[A], reason: 'connect', error: expect.stringMatching(why) }]);
    expect(warning!.answered).toBe(urls[B]);
    expect(warning!.msg).toMatch(new RegExp(`^proxmox pve1: ${urls[A]} failed \\(cannot connect: connection \\w+( by the server)?\\); listed through ${urls[B]}$`));
    expectNoSecret();
  });

  it('primary answers HTTP 500 → fallback', async () => {
    nodes[A]!.faults.set({ kind: 'status500', message: 'cluster not ready - no quorum?' });
    const { vms } = await source(urls).listVms(never());
    expect(vms.length).toBeGreaterThan(0);
    expect(hits()).toEqual([1, 1, 0]);
    expect(warnings().map((w) => w.failed)).toEqual([
      [{ endpoint: urls[A], reason: 'http', error: 'HTTP 500 cluster not ready - no quorum? from GET /cluster/resources' }],
    ]);
  });

  it.each([
    { status: 595, text: 'Errors during connection establishment, proxy handshake failed' },
    { status: 502, text: 'Bad Gateway' },
    { status: 503, text: 'Service Unavailable' },
    { status: 429, text: 'Too Many Requests' },
  ])('primary answers $status (the node cannot serve now) → fallback', async (answer) => {
    rawAnswer = answer;
    const { vms } = await source([rawUrl, urls[B]!]).listVms(never());
    expect(vms.length).toBeGreaterThan(0);
    expect(warnings()[0]!.msg).toBe(`proxmox pve1: ${rawUrl} failed (HTTP ${answer.status} ${answer.text} from GET /cluster/resources); listed through ${urls[B]}`);
  });

  it.each([
    { status: 404, text: 'Not Found' },
    { status: 400, text: 'Parameter verification failed.' },
  ])('primary answers $status (the request is refused) → no failover: every node would say the same', async (answer) => {
    rawAnswer = answer;
    const err = await failure(() => source([rawUrl, urls[B]!]).listVms(never()));
    expect(err.reason).toBe('http');
    expect(err.message).toBe(`proxmox pve1: HTTP ${answer.status} ${answer.text} from GET /cluster/resources`);
    expect(hits()[B]).toBe(0);
    expect(warnings()).toEqual([]);
  });

  it('primary hangs past timeoutMs → fallback within about timeoutMs', async () => {
    nodes[A]!.faults.set({ kind: 'slowMs', ms: 10_000 });
    const started = Date.now();
    const { vms } = await source(urls, { timeoutMs: 400 }).listVms(never());
    const took = Date.now() - started;
    expect(vms.length).toBeGreaterThan(0);
    expect(took).toBeGreaterThanOrEqual(390);
    expect(took).toBeLessThan(400 + 1500);
    expect(warnings()[0]!.failed).toEqual([{ endpoint: urls[A], reason: 'timeout', error: 'timed out after 400 ms waiting for an answer' }]);
  });

  it('a body cut short is the node going away, not the cluster: fallback', async () => {
    // Enough guests that the half A sends before it goes away is several batches, already handed
    // to a builder; and a guest only A lists (first in its answer), so a builder that kept any of
    // the cut answer would show it. 40 guests fit in one batch: nothing would be fed before the cut.
    for (const n of nodes) n.inventory.seed(2000, { nodes: 3, seed: 11, startVmid: 1000 });
    nodes[A]!.inventory.upsert({ vmid: 100, type: 'qemu', node: 'pve1', name: 'only-in-the-cut-answer', status: 'running' });
    nodes[A]!.faults.set({ kind: 'truncated' });
    const expected = (await source([urls[B]!]).listVms(never())).vms;
    const { vms, rejected } = await source(urls).listVms(never());
    // A fresh builder per attempt: nothing of the cut answer is kept.
    expect(vms).toEqual(expected);
    expect(rejected).toEqual([]);
    expect(warnings()[0]!.failed[0]).toMatchObject({ endpoint: urls[A], reason: 'invalid_response', error: expect.stringMatching(/^answer truncated/) });
  });

  it('sticky: after a failover the next listings go to the node that answered, even when the primary is back', async () => {
    const s = source(urls);
    nodes[A]!.faults.set({ kind: 'down' });
    await s.listVms(never());
    expect(hits()).toEqual([0, 1, 0]);
    nodes[A]!.faults.clear();
    await accepting(urls[A]!);
    for (let i = 0; i < 3; i++) await s.listVms(never());
    expect(hits()).toEqual([0, 4, 0]);
    expect(warnings()).toHaveLength(1);
    // When the node it sticks to fails, the next in config order after it is asked, then round to the primary.
    nodes[B]!.faults.set({ kind: 'status500' });
    nodes[C]!.faults.set({ kind: 'down' });
    await s.listVms(never());
    expect(hits()).toEqual([1, 5, 0]);
    expect(warnings()[1]!.failed.map((f) => f.endpoint)).toEqual([urls[B], urls[C]]);
    expect(warnings()[1]!.answered).toBe(urls[A]);
    nodes[B]!.faults.clear();
    await s.listVms(never());
    expect(hits()).toEqual([2, 5, 0]);
  });

  it('primary answers 401 → no failover, the error as without fallbacks', async () => {
    const stranger = new ProxmoxSimulator({ tokens: [{ tokenId: 'other@pve!x', secret: '00000000-1111-4222-8333-444444444444' }], tls: false });
    const { url } = await stranger.start();
    try {
      const err = await failure(() => source([url, urls[B]!]).listVms(never()));
      expect(err).toBeInstanceOf(SourceError);
      expect(err.reason).toBe('auth');
      expect(err.message).toBe('proxmox pve1: 401 permission denied - invalid PVE ticket — check tokenId/tokenSecret and that the token has PVEAuditor on /');
      expect(hits()[B]).toBe(0);
      expect(warnings()).toEqual([]);
      expectNoSecret(err);
    } finally {
      await stranger.stop();
    }
  });

  it('a body that is not a guest list is the cluster\'s answer: no failover', async () => {
    nodes[A]!.faults.set({ kind: 'badJson' });
    const err = await failure(() => source(urls).listVms(never()));
    expect(err.reason).toBe('invalid_response');
    expect(err.message).toMatch(/^proxmox pve1: answer is not JSON/);
    expect(hits()).toEqual([1, 0, 0]);
  });

  it('a cluster-wide failure after a failover names where it came from and what failed before', async () => {
    const stranger = new ProxmoxSimulator({ tokens: [], tls: false });
    const { url } = await stranger.start();
    try {
      nodes[A]!.faults.set({ kind: 'down' });
      const s = source([urls[A]!, url, urls[C]!]);
      const err = await failure(() => s.listVms(never()));
      expect(err.reason).toBe('auth');
      expect(err.message).toBe(
        `proxmox pve1: 401 permission denied - invalid PVE ticket — check tokenId/tokenSecret and that the token has PVEAuditor on / (at ${url}, after ${urls[A]}: cannot connect: connection refused)`,
      );
      expect(hits()[C]).toBe(0);
      // Only a listing moves where the next one starts: it fails the same way, saying so again.
      const again = await failure(() => s.listVms(never()));
      expect(again.message).toBe(err.message);
      expectNoSecret(err);
    } finally {
      await stranger.stop();
    }
  });

  it('a fallback that answered with an error is not stuck to: once url is back, the cluster is listed again', async () => {
    // A fallback that is not this cluster's API (a mistyped base path, a proxy's page, another
    // cluster's token): its answer is a failure, and sticking to it would keep the source down,
    // the healthy url never asked again, with an error that no longer says which endpoint gave it.
    rawAnswer = { status: 404, text: 'Not Found' };
    const s = source([urls[A]!, rawUrl]);
    nodes[A]!.faults.set({ kind: 'down' });
    const err = await failure(() => s.listVms(never()));
    expect(err.message).toBe(`proxmox pve1: HTTP 404 Not Found from GET /cluster/resources (at ${rawUrl}, after ${urls[A]}: cannot connect: connection refused)`);
    nodes[A]!.faults.clear();
    await accepting(urls[A]!);
    const { vms } = await s.listVms(never());
    expect(vms.length).toBeGreaterThan(0);
    expect(hits()[A]).toBe(1);
  });

  it('every endpoint down → one SourceError naming each failure, without the secret', async () => {
    nodes[A]!.faults.set({ kind: 'down' });
    nodes[B]!.faults.set({ kind: 'status500', message: 'cluster not ready - no quorum?' });
    nodes[C]!.faults.set({ kind: 'down', mode: 'reset' });
    const err = await failure(() => source(urls).listVms(never()));
    expect(err).toBeInstanceOf(SourceError);
    // The node that answered says more than the ones that refused.
    expect(err.reason).toBe('http');
    const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(err.message).toMatch(
      new RegExp(
        `^proxmox pve1: no endpoint could list the cluster — ${esc(urls[A]!)}: cannot connect: connection refused; ` +
          `${esc(urls[B]!)}: HTTP 500 cluster not ready - no quorum\\? from GET /cluster/resources; ` +
          `${esc(urls[C]!)}: cannot connect: connection (closed|reset) by the server$`,
      ),
    );
    expect(err.message).not.toContain('\n');
    expect(warnings()).toEqual([]);
    expectNoSecret(err);
  });

  it('every endpoint refused → reason connect', async () => {
    for (const n of nodes) n.faults.set({ kind: 'down' });
    const err = await failure(() => source(urls).listVms(never()));
    expect(err.reason).toBe('connect');
    expect(err.message.split('; ')).toHaveLength(3);
  });

  it("the caller's abort stops at once: no further endpoint is tried", async () => {
    nodes[A]!.faults.set({ kind: 'slowMs', ms: 10_000 });
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error('pass deadline')), 150);
    const started = Date.now();
    const err = await failure(() => source(urls, { timeoutMs: 5000 }).listVms(ctl.signal));
    expect(err.reason).toBe('aborted');
    expect(err.message).toBe('proxmox pve1: listing aborted (pass deadline)');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(hits()).toEqual([1, 0, 0]);
    expect(warnings()).toEqual([]);
  });

  it('an abort while a fallback is being asked keeps what failed before in the message', async () => {
    nodes[A]!.faults.set({ kind: 'down' });
    nodes[B]!.faults.set({ kind: 'slowMs', ms: 10_000 });
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error('shutting down')), 200);
    const err = await failure(() => source(urls).listVms(ctl.signal));
    expect(err.reason).toBe('aborted');
    expect(err.message).toBe(`proxmox pve1: listing aborted (shutting down) (at ${urls[B]}, after ${urls[A]}: cannot connect: connection refused)`);
    expect(hits()).toEqual([0, 1, 0]);
  });

  it('a signal aborted before the listing → no request at all', async () => {
    const ctl = new AbortController();
    ctl.abort(new Error('shutting down'));
    const err = await failure(() => source(urls).listVms(ctl.signal));
    expect(err.reason).toBe('aborted');
    expect(hits()).toEqual([0, 0, 0]);
  });

});

describe('proxmox endpoint failover over TLS', () => {
  let trusted: ProxmoxSimulator;
  let untrusted: ProxmoxSimulator;
  let dir: string;
  let caFile: string;
  beforeAll(async () => {
    trusted = new ProxmoxSimulator({ tokens: TOKENS });
    untrusted = new ProxmoxSimulator({ tokens: TOKENS });
    const [t] = await Promise.all([trusted.start(), untrusted.start()]);
    for (const n of [trusted, untrusted]) n.inventory.seed(10, { seed: 11 });
    dir = await mkdtemp(join(tmpdir(), 'pve-failover-'));
    caFile = join(dir, 'pve-root-ca.pem');
    await writeFile(caFile, t!.caPem);
  });
  afterAll(async () => {
    await Promise.all([trusted.stop(), untrusted.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  it("a node whose certificate the CA does not sign is that node's fault: the next one is asked with the same tls", async () => {
    const { vms } = await source([untrusted.url, trusted.url], { tls: { caFile } }).listVms(never());
    expect(vms.length).toBeGreaterThan(0);
    expect(warnings()[0]!.failed).toEqual([{ endpoint: untrusted.url, reason: 'tls', error: expect.stringMatching(/^TLS certificate not trusted/) }]);
  });

  it('tls.insecure applies to every endpoint', async () => {
    untrusted.faults.set({ kind: 'down' });
    try {
      const { vms } = await source([untrusted.url, trusted.url], { tls: { insecure: true } }).listVms(never());
      expect(vms.length).toBeGreaterThan(0);
    } finally {
      untrusted.faults.clear();
    }
  });

  it('no endpoint trusted → reason tls, each endpoint named', async () => {
    const err = await failure(() => source([untrusted.url, trusted.url], { tls: {} }).listVms(never()));
    expect(err.reason).toBe('tls');
    expect(err.message.match(/TLS certificate not trusted/g)).toHaveLength(2);
    expect(err.message).toContain(untrusted.url);
    expect(err.message).toContain(trusted.url);
  });
});
