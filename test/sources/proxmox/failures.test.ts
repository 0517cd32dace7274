// Every way a listing can fail ends in one clear SourceError (the source is then unknown),
// with a reason code, and never with the token secret in it.
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ProxmoxSimulator } from '../../../src/simulators/proxmox/index.js';
import { SourceError } from '../../../src/sources/proxmox/index.js';
import { errorMessage } from '../../../src/util/errors.js';
import { everything, failure, never, startHarness, TOKEN_SECRET, type Harness } from './helpers.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.sim.faults.clear();
  h.sim.inventory.seed(50, { nodes: 2, seed: 3 });
  h.sim.counters.reset();
});

function expectClean(err: unknown): void {
  expect(everything(err)).not.toContain(TOKEN_SECRET);
}

describe('proxmox source failures', () => {
  it('wrong token secret → auth error naming the fix', async () => {
    const err = await failure(() => h.source({ tokenSecret: '00000000-1111-4222-8333-444444444444' }).listVms(never()));
    expect(err).toBeInstanceOf(SourceError);
    expect(err.reason).toBe('auth');
    expect(err.message).toBe('proxmox pve1: 401 permission denied - invalid PVE ticket — check tokenId/tokenSecret and that the token has PVEAuditor on /');
    expectClean(err);
  });

  // A proxy that echoes the request's Authorization header into its status line: the text is cut
  // to 200 characters for the message, and a cut through the secret must not leave a piece of it.
  it.each([0, 10, 20, 30])('a status line echoing the secret, cut %i characters into it, keeps no piece of it', async (into) => {
    h.sim.faults.set({ kind: 'status500', message: `${'a'.repeat(200 - into)}${TOKEN_SECRET} trailing` });
    const err = await failure(() => h.source().listVms(never()));
    expect(err.reason).toBe('http');
    for (let at = 0; at + 8 <= TOKEN_SECRET.length; at++) expect(everything(err)).not.toContain(TOKEN_SECRET.slice(at, at + 8));
  });

  // JSON.parse quotes up to 10 characters of the body around the error: a body that echoes the
  // token right there must not put a piece of it in the message.
  it.each(['{"data":x', '<html>', '{"data":[}'])('a body that is not JSON (%s…) with the secret at the error keeps no piece of it', async (start) => {
    const echo = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json;charset=UTF-8' });
      res.end(`${start}${String(req.headers.authorization).split('=')[1]}`);
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    try {
      const err = await failure(() => h.source({ url: `http://127.0.0.1:${(echo.address() as AddressInfo).port}` }).listVms(never()));
      expect(err.reason).toBe('invalid_response');
      expect(err.message).toMatch(/^proxmox pve1: answer is not JSON \(Unexpected token '.' \(not valid JSON\); \d+ bytes\)$/);
      for (let at = 0; at + 4 <= TOKEN_SECRET.length; at++) expect(everything(err)).not.toContain(TOKEN_SECRET.slice(at, at + 4));
    } finally {
      await new Promise((resolve) => echo.close(resolve));
    }
  });

  it('wrong token id → auth error without either secret', async () => {
    const err = await failure(() => h.source({ tokenId: 'other@pve!nope' }).listVms(never()));
    expect(err.reason).toBe('auth');
    expectClean(err);
  });

  it('server not listening → connect error', async () => {
    const gone = new ProxmoxSimulator({ tokens: [] });
    const { url } = await gone.start();
    await gone.stop();
    const err = await failure(() => h.source({ url }).listVms(never()));
    expect(err.reason).toBe('connect');
    expect(err.message).toBe(`proxmox pve1: cannot connect to ${url}: connection refused`);
    expectClean(err);
  });

  it('down fault (listener closed) → connect error; cleared → listing works again on the same URL', async () => {
    const source = h.source();
    h.sim.faults.set({ kind: 'down' });
    const err = await failure(() => source.listVms(never()));
    expect(err.reason).toBe('connect');
    expect(err.message).toContain('connection refused');
    h.sim.faults.clear('down');
    await new Promise((r) => setTimeout(r, 50));
    await expect(source.listVms(never())).resolves.toMatchObject({ rejected: [] });
  });

  it('down fault (sockets reset) → connect error', async () => {
    h.sim.faults.set({ kind: 'down', mode: 'reset' });
    const err = await failure(() => h.source().listVms(never()));
    expect(err.reason).toBe('connect');
    expect(err.message).toMatch(/^proxmox pve1: cannot connect to https:\/\/127\.0\.0\.1:\d+: connection (closed|reset) by the server$/);
  });

  it('slow answer → timeout error within the configured timeout', async () => {
    h.sim.faults.set({ kind: 'slowMs', ms: 5000 });
    const started = Date.now();
    const err = await failure(() => h.source({ timeoutMs: 300 }).listVms(never()));
    expect(err.reason).toBe('timeout');
    expect(err.message).toBe('proxmox pve1: timed out after 300 ms waiting for an answer');
    // Loose bound: proves the timeout (not the 5 s delay, not a retry) ended the call.
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('a body that stalls after the headers is covered by the same timeout', async () => {
    h.sim.faults.set({ kind: 'slowMs', ms: 5000, phase: 'body' });
    const err = await failure(() => h.source({ timeoutMs: 300 }).listVms(never()));
    expect(err.reason).toBe('timeout');
    expect(err.message).toMatch(/^proxmox pve1: timed out after 300 ms reading the answer \(\d+ bytes received\)$/);
  });

  it("honours the caller's abort signal", async () => {
    h.sim.faults.set({ kind: 'slowMs', ms: 5000 });
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error('pass deadline')), 100);
    const err = await failure(() => h.source().listVms(ctl.signal));
    expect(err.reason).toBe('aborted');
    expect(err.message).toBe('proxmox pve1: listing aborted (pass deadline)');
    const already = new AbortController();
    already.abort(new Error('shutting down'));
    const early = await failure(() => h.source().listVms(already.signal));
    expect(early.reason).toBe('aborted');
  });

  it('HTTP 500 → http error with the status line', async () => {
    h.sim.faults.set({ kind: 'status500', message: 'cluster not ready - no quorum?', times: 1 });
    const err = await failure(() => h.source().listVms(never()));
    expect(err.reason).toBe('http');
    expect(err.message).toBe('proxmox pve1: HTTP 500 cluster not ready - no quorum? from GET /cluster/resources');
    // What logs and /status show (the cause chain): nothing of the library's error, whose message
    // interpolated our response reader's source code.
    expect(errorMessage(err)).toBe(err.message);
  });

  const badBodies = [
    { kind: 'badJson' as const, message: /^proxmox pve1: answer is not JSON \(.+; \d+ bytes\)$/ },
    { kind: 'truncated' as const, message: /^proxmox pve1: answer truncated: connection closed after \d+ of \d+ bytes$/ },
    {
      kind: 'wrongContentType' as const,
      message: /^proxmox pve1: answered with Content-Type "application\/json" instead of application\/json;charset=UTF-8/,
    },
  ];
  it.each(badBodies)('$kind → the whole listing throws invalid_response (source unknown)', async ({ kind, message }) => {
    h.sim.faults.set({ kind });
    const err = await failure(() => h.source().listVms(never()));
    expect(err).toBeInstanceOf(SourceError);
    expect(err.reason).toBe('invalid_response');
    expect(err.message).toMatch(message);
    expectClean(err);
  });

  it('an HTML page instead of JSON → invalid_response naming the Content-Type', async () => {
    h.sim.faults.set({ kind: 'wrongContentType', contentType: 'text/html; charset=utf-8' });
    const err = await failure(() => h.source().listVms(never()));
    expect(err.reason).toBe('invalid_response');
    expect(err.message).toContain('"text/html; charset=utf-8"');
    expect(errorMessage(err)).toBe(err.message);
  });

  it('recovers once a one-shot fault is used up', async () => {
    h.sim.faults.set({ kind: 'badJson', times: 1 });
    const source = h.source();
    await expect(source.listVms(never())).rejects.toThrow(/not JSON/);
    await expect(source.listVms(never())).resolves.toMatchObject({ rejected: [] });
  });

  it('unreadable or non-PEM CA file → config error naming the file', async () => {
    const missing = join(h.dir, 'nope.pem');
    const err = await failure(() => h.source({ tls: { caFile: missing } }).listVms(never()));
    expect(err.reason).toBe('config');
    expect(err.message).toBe(`proxmox pve1: cannot read tls.caFile ${missing}: no such file`);
    const junk = join(h.dir, 'junk.pem');
    await writeFile(junk, 'hello');
    const err2 = await failure(() => h.source({ tls: { caFile: junk } }).listVms(never()));
    expect(err2.message).toContain(`tls.caFile ${junk} holds no PEM certificate`);
  });
});
