// Which endpoint a Proxmox source reads from: each successful listing says which node answered,
// whether it is the configured `url` or a fallback, and since when `url` has failed — so `status`
// can show that the primary is not in use while listings stick to a fallback. Two simulators of
// one cluster (`nodeOf`) over real HTTP on loopback; the clock is injected.
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { proxmoxSourceSchema } from '../../../src/config/schema.js';
import type { VmSource } from '../../../src/domain/ports.js';
import { ProxmoxSimulator } from '../../../src/simulators/proxmox/index.js';
import { FAILBACK_AFTER_MS } from '../../../src/sources/proxmox/client.js';
import { createProxmoxSource } from '../../../src/sources/proxmox/index.js';
import { failure, never, TOKEN_ID, TOKEN_SECRET } from './helpers.js';

const RESOURCES = '/api2/json/cluster/resources';
const TOKENS = [{ tokenId: TOKEN_ID, secret: TOKEN_SECRET }];
const T0 = 1_700_000_000_000;

let a: ProxmoxSimulator;
let b: ProxmoxSimulator;
let now = T0;
let sources: VmSource[] = [];

beforeAll(async () => {
  a = new ProxmoxSimulator({ tokens: TOKENS, tls: false });
  await a.start();
  b = new ProxmoxSimulator({ tokens: TOKENS, tls: false, nodeOf: a });
  await b.start();
});

afterAll(async () => {
  await Promise.all([b.stop(), a.stop()]);
});

beforeEach(() => {
  a.faults.clear();
  b.faults.clear();
  a.inventory.seed(10, { nodes: 2, seed: 3 });
  a.counters.reset();
  b.counters.reset();
  now = T0;
});

afterEach(async () => {
  await Promise.all(sources.map((s) => s.close()));
  sources = [];
});

function source(url: string, fallbackUrls: string[], logs?: Array<{ level: number; msg: string }>): VmSource {
  const config = proxmoxSourceSchema.parse({ name: 'pve1', type: 'proxmox', url, fallbackUrls, tokenId: TOKEN_ID, tokenSecret: TOKEN_SECRET, timeoutMs: 3000 });
  const logger = logs ? pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as { level: number; msg: string }) }) : pino({ level: 'silent' });
  const s = createProxmoxSource(config, { logger, clock: { now: () => now } });
  sources.push(s);
  return s;
}

/** Fails a node's listings the way a node without quorum does (a 5xx: another node may answer). */
function fail(sim: ProxmoxSimulator): void {
  sim.faults.set({ kind: 'status500', message: 'cluster not ready - no quorum?' });
}

describe('the endpoint a Proxmox listing reports', () => {
  it.each([
    { name: 'url answers', failing: [] as ('a' | 'b')[], endpoint: () => ({ url: a.url, fallback: false }) },
    { name: 'url fails: the fallback, and when url failed', failing: ['a' as const], endpoint: () => ({ url: b.url, fallback: true, primary: { url: a.url, failedAt: T0 } }) },
    { name: 'the fallback fails: url, as without one', failing: ['b' as const], endpoint: () => ({ url: a.url, fallback: false }) },
  ])('$name', async ({ failing, endpoint }) => {
    for (const which of failing) fail(which === 'a' ? a : b);
    const listing = await source(a.url, [b.url]).listVms(never());
    expect(listing.vms.length).toBeGreaterThan(0);
    expect(listing.endpoint).toEqual(endpoint());
  });

  it('without fallbackUrls: url, never a fallback', async () => {
    expect((await source(a.url, []).listVms(never())).endpoint).toEqual({ url: a.url, fallback: false });
  });

  it('sticks to the fallback after url is back, until the fallback fails; then url again', async () => {
    const s = source(a.url, [b.url]);
    fail(a);
    expect((await s.listVms(never())).endpoint).toEqual({ url: b.url, fallback: true, primary: { url: a.url, failedAt: T0 } });

    // url answers again, but is not asked: the fallback keeps answering, and the time url failed stays.
    a.faults.clear();
    now = T0 + 60_000;
    expect((await s.listVms(never())).endpoint).toEqual({ url: b.url, fallback: true, primary: { url: a.url, failedAt: T0 } });
    expect(a.counters.get(RESOURCES)).toBe(1);

    // The fallback fails: the listing goes round to url, which answers.
    fail(b);
    now = T0 + 120_000;
    expect((await s.listVms(never())).endpoint).toEqual({ url: a.url, fallback: false });
  });

  it('asks url first again once the fallback has been in use for FAILBACK_AFTER_MS: back on url when it answers, without a restart', async () => {
    const logs: Array<{ level: number; msg: string }> = [];
    const s = source(a.url, [b.url], logs);
    fail(a);
    await s.listVms(never());
    expect(logs.filter((l) => l.level === 40)).toHaveLength(1); // the failover warning

    // Still failing at the first retry: listed through the fallback, the time moves, no new warning.
    now = T0 + FAILBACK_AFTER_MS - 1;
    await s.listVms(never());
    expect(a.counters.get(RESOURCES)).toBe(1);
    now = T0 + FAILBACK_AFTER_MS;
    expect((await s.listVms(never())).endpoint).toEqual({ url: b.url, fallback: true, primary: { url: a.url, failedAt: T0 + FAILBACK_AFTER_MS } });
    expect(a.counters.get(RESOURCES)).toBe(2);
    expect(logs.filter((l) => l.level === 40)).toHaveLength(1);

    // Fixed: not asked before another FAILBACK_AFTER_MS has passed since it last failed, then back on it.
    a.faults.clear();
    now = T0 + 2 * FAILBACK_AFTER_MS - 1;
    expect((await s.listVms(never())).endpoint).toMatchObject({ url: b.url, fallback: true });
    now = T0 + 2 * FAILBACK_AFTER_MS;
    expect((await s.listVms(never())).endpoint).toEqual({ url: a.url, fallback: false });
    expect(logs.filter((l) => l.level === 30).map((l) => l.msg)).toEqual([`proxmox pve1: ${a.url} answers again; listed through it instead of ${b.url}`]);
    // And stays there.
    const onB = b.counters.get(RESOURCES);
    now = T0 + 3 * FAILBACK_AFTER_MS;
    await s.listVms(never());
    expect(b.counters.get(RESOURCES)).toBe(onB);
  });

  it('a wall clock set back after url failed does not keep the daemon on the fallback for as long as the clock jumped', async () => {
    const s = source(a.url, [b.url], []);
    fail(a);
    await s.listVms(never());
    a.faults.clear();
    now = T0 + 60_000; // a minute later: not yet time for url
    expect((await s.listVms(never())).endpoint).toMatchObject({ url: b.url, fallback: true });
    expect(a.counters.get(RESOURCES)).toBe(1);
    now = T0 - 3_600_000; // then NTP sets the clock back an hour
    expect((await s.listVms(never())).endpoint).toEqual({ url: a.url, fallback: false });
    expect(a.counters.get(RESOURCES)).toBe(2);
  });

  it('a retry of url that fails where the fallback fails too goes on to the other nodes and warns', async () => {
    const c = new ProxmoxSimulator({ tokens: TOKENS, tls: false, nodeOf: a });
    await c.start();
    try {
      const logs: Array<{ level: number; msg: string }> = [];
      const s = source(a.url, [b.url, c.url], logs);
      fail(a);
      await s.listVms(never());
      fail(b);
      now = T0 + FAILBACK_AFTER_MS;
      expect((await s.listVms(never())).endpoint).toEqual({ url: c.url, fallback: true, primary: { url: a.url, failedAt: T0 + FAILBACK_AFTER_MS } });
      const warnings = logs.filter((l) => l.level === 40).map((l) => l.msg);
      expect(warnings).toHaveLength(2);
      expect(warnings[1]).toMatch(new RegExp(`${a.url}.*failed.*${b.url}.*failed.*listed through ${c.url}`));
    } finally {
      await c.stop();
    }
  });

  it('a listing no endpoint answers reports none; url failing again moves the time it failed', async () => {
    const s = source(a.url, [b.url]);
    fail(a);
    await s.listVms(never());
    fail(b);
    now = T0 + 60_000;
    const err = await failure(() => s.listVms(never()));
    expect(err.message).toMatch(/no endpoint could list the cluster/);
    // Sticky on the fallback still: the next listing starts there, then asks url.
    b.faults.clear();
    now = T0 + 120_000;
    expect((await s.listVms(never())).endpoint).toEqual({ url: b.url, fallback: true, primary: { url: a.url, failedAt: T0 + 60_000 } });
  });

  it('names endpoints by origin and base path: no user info, no token', async () => {
    const withUser = a.url.replace('http://', 'http://someone:hunter2@');
    const listing = await source(withUser, [b.url]).listVms(never());
    expect(listing.endpoint).toEqual({ url: a.url, fallback: false });
    fail(a);
    const text = JSON.stringify((await source(withUser, [b.url]).listVms(never())).endpoint);
    expect(text).toBe(JSON.stringify({ url: b.url, fallback: true, primary: { url: a.url, failedAt: T0 } }));
    for (const secret of ['hunter2', 'someone', TOKEN_SECRET, TOKEN_ID]) expect(text).not.toContain(secret);
  });
});
