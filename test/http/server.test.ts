import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../src/http/index.js';
import { createSyncMetrics } from '../../src/metrics/index.js';
import { createLogger } from '../../src/util/logger.js';
import { FakeControl } from './fake-control.js';

const TOKEN = 'correct-horse-battery-staple-0123';

/** A logger writing into a string, so tests can assert what was (not) logged. */
function memoryLogger() {
  const lines: string[] = [];
  const destination = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
  return { logger: createLogger({ level: 'debug', pretty: false, destination }), text: () => lines.join('') };
}

const running: HttpServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

async function start(opts: { adminToken?: string; now?: () => number; readyMaxAgeSeconds?: number } = {}) {
  const control = new FakeControl();
  const metrics = createSyncMetrics({ version: '0.1.0', sources: ['pve1'] });
  const log = memoryLogger();
  const server = createHttpServer({ listen: '127.0.0.1:0', control, metrics, logger: log.logger, ...opts });
  running.push(server);
  const { url } = await server.start();
  return { url, control, metrics, log, server };
}

describe('http server', () => {
  it('serves /metrics in the Prometheus text format', async () => {
    const { url } = await start();
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const body = await res.text();
    expect(body).toContain('vpssync_build_info{version="0.1.0"} 1');
    expect(body).toContain('vpssync_drift{class="missing_on_panel"} 0');
    expect(body).toContain('process_cpu_user_seconds_total');
  });

  it('answers /healthz while alive, and HEAD like GET without a body', async () => {
    const { url } = await start();
    const res = await fetch(`${url}/healthz`);
    expect([res.status, await res.text()]).toEqual([200, 'ok\n']);
    const head = await fetch(`${url}/healthz`, { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([200, '']);
  });

  it('flips /readyz with the age of the last successful pass', async () => {
    let now = 1_000_000_000;
    const { url, control } = await start({ now: () => now, readyMaxAgeSeconds: 60 });
    let res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/no successful pass yet/);

    control.lastSuccess = now - 10_000;
    res = await fetch(`${url}/readyz`);
    expect([res.status, await res.text()]).toEqual([200, 'ready: last successful pass 10s ago\n']);

    now += 120_000;
    res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.text()).toBe('not ready: last successful pass 130s ago (limit 60s)\n');
  });

  it('serves /status as JSON without the admin token', async () => {
    const { url, control } = await start({ adminToken: TOKEN });
    control.problems = [`a buggy component leaked ${TOKEN} into a message`];
    const res = await fetch(`${url}/status`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const text = await res.text();
    const body = JSON.parse(text) as { version: string; sources: { name: string }[]; outbox: { pending: number } };
    expect(body.version).toBe('0.1.0');
    expect(body.sources[0]?.name).toBe('pve1');
    expect(body.outbox.pending).toBe(1);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toMatch(/adminToken|apiKey|tokenSecret|password/i);
  });

  it('masks the admin token in /status even when JSON escapes it (a token with " or \\)', async () => {
    // The config allows any printable ASCII in the token; JSON.stringify writes `"` as `\"` and
    // `\` as `\\`, so masking the serialised text missed exactly these tokens.
    const token = 'quote"and\\backslash-0123456789';
    const { url, control } = await start({ adminToken: token });
    control.problems = [`a buggy component leaked ${token} into a message`];
    const body = (await (await fetch(`${url}/status`)).json()) as { lastPasses: { problems: string[] }[] };
    expect(JSON.stringify(body)).not.toContain(JSON.stringify(token).slice(1, -1));
    expect(body.lastPasses[0]?.problems[0]).toBe('a buggy component leaked *** into a message');
  });

  describe('POST /resync', () => {
    it('queues a pass with the right token and coalesces a second request', async () => {
      const { url, control, log } = await start({ adminToken: TOKEN });
      const auth = { Authorization: `Bearer ${TOKEN}` };
      let res = await fetch(`${url}/resync`, { method: 'POST', headers: auth });
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ queued: true, coalesced: false, full: false, force: false });
      res = await fetch(`${url}/resync?full=1`, { method: 'POST', headers: auth });
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ queued: true, coalesced: true, full: true, force: false });
      res = await fetch(`${url}/resync?force=1`, { method: 'POST', headers: auth });
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ queued: true, coalesced: true, full: false, force: true });
      expect(control.requests.map((r) => [r.full, r.force])).toEqual([[false, false], [true, false], [false, true]]);
      expect(control.requests[1]?.reason).toMatch(/POST \/resync\?full=1$/);
      expect(control.requests[2]?.reason).toMatch(/POST \/resync\?force=1$/);
      expect(log.text()).toMatch(/resync requested/);
      expect(log.text()).not.toContain(TOKEN);
    });

    it('answers 503, not 202 Accepted, when the daemon is stopping and queues nothing', async () => {
      // `curl -f -X POST …/resync` (the docs' way, and scripts') took the 202 for a pass that never ran.
      const { url, control, log } = await start({ adminToken: TOKEN });
      control.stopping = true;
      const res = await fetch(`${url}/resync?full=1`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await res.json()).toEqual({ error: expect.stringMatching(/stopping/), queued: false, coalesced: false, full: true, force: false });
      expect(log.text()).toMatch(/resync refused: the daemon is stopping/);
    });

    it('refuses a missing token, a wrong token and a wrong scheme with 401', async () => {
      const { url, control, log } = await start({ adminToken: TOKEN });
      const cases: (Record<string, string> | undefined)[] = [
        undefined,
        { Authorization: 'Bearer nope' },
        { Authorization: `Bearer ${TOKEN}x` },
        { Authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` },
        { Authorization: `Bearer ${TOKEN.slice(0, -1)}` },
      ];
      for (const headers of cases) {
        const res = await fetch(`${url}/resync`, { method: 'POST', ...(headers ? { headers } : {}) });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(((await res.json()) as { error: string }).error).toMatch(/bearer token/);
      }
      expect(control.requests).toHaveLength(0);
      expect(log.text()).not.toContain(TOKEN);
    });

    it('is refused with 403 and a clear message when no admin token is configured', async () => {
      const { url, control } = await start();
      const res = await fetch(`${url}/resync`, { method: 'POST', headers: { Authorization: 'Bearer anything-at-all' } });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: string }).error).toMatch(/disabled: set http\.adminToken/);
      expect(control.requests).toHaveLength(0);
    });

    it.each(['full=yes', 'force=yes', 'full=1&force=2'])('rejects an unknown value (%s) with 400', async (query) => {
      const { url, control } = await start({ adminToken: TOKEN });
      const res = await fetch(`${url}/resync?${query}`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(400);
      expect(control.requests).toHaveLength(0);
    });
  });

  it('answers 404 for unknown paths and 405 with Allow for wrong methods', async () => {
    const { url } = await start({ adminToken: TOKEN });
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    const get = await fetch(`${url}/resync`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const post = await fetch(`${url}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('reports a busy port as a start error and stops cleanly with open keep-alive connections', async () => {
    const first = await start();
    const port = new URL(first.url).port;
    const control = new FakeControl();
    const other = createHttpServer({ listen: `127.0.0.1:${port}`, control, metrics: first.metrics, logger: first.log.logger });
    await expect(other.start()).rejects.toThrow(/cannot listen on http:\/\/127\.0\.0\.1:\d+: EADDRINUSE/);
    await fetch(`${first.url}/healthz`); // leaves a keep-alive socket open
    await first.server.stop();
    await expect(fetch(`${first.url}/healthz`)).rejects.toThrow();
  });

  it('drops a client that trickles its headers (slowloris) once headersTimeout (5 s) is up, not 30 s later', async () => {
    // node:http enforces headersTimeout/requestTimeout only when it checks its connections, every
    // connectionsCheckingInterval (30 s by default): a slow client held a socket six times as long.
    const { url } = await start();
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const started = Date.now();
    socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
    const trickle = setInterval(() => socket.write('X-Slow: 1\r\n'), 500);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.on('error', () => {});
    socket.resume();
    await closed;
    clearInterval(trickle);
    expect(Date.now() - started).toBeLessThan(8_000);
  }, 40_000);

  it('listens on IPv6 loopback when asked', async () => {
    const control = new FakeControl();
    const log = memoryLogger();
    const server = createHttpServer({ listen: '[::1]:0', control, metrics: createSyncMetrics({ version: 'x', processMetrics: false }), logger: log.logger });
    let url: string;
    try {
      ({ url } = await server.start());
    } catch (err) {
      // Some CI containers have no IPv6 loopback at all; that is the host's limit, not ours.
      expect(String(err)).toMatch(/EADDRNOTAVAIL|EAFNOSUPPORT/);
      return;
    }
    running.push(server);
    expect(url).toMatch(/^http:\/\/\[::1\]:\d+$/);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });
});
