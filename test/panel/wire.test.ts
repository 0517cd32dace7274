// What the client puts on the wire, checked with a plain capturing server; plus HTTPS trust and key scrubbing.
import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createPanelClient } from '../../src/panel/index.js';
import { generateSelfSignedCert } from '../../src/simulators/tls.js';
import { API_KEY, FIELDS, capturingLogger } from './helpers.js';

interface Captured {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingMessage['headers'];
  body: unknown;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
});

async function listen(server: Server, scheme: 'http' | 'https'): Promise<string> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A server that records each request and answers with `answer`. */
async function capture(answer: (c: Captured) => [number, string, Record<string, string>?]): Promise<{ url: string; seen: Captured[] }> {
  const seen: Captured[] = [];
  const handler: RequestListener = (req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      const c = { method: req.method, url: req.url, headers: req.headers, body: JSON.parse(raw) as unknown };
      seen.push(c);
      const [status, body, headers] = answer(c);
      res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
      res.end(body);
    });
  };
  return { url: await listen(createHttpServer(handler), 'http'), seen };
}

const created = JSON.stringify({ status: 'success', message: 'VPS synced successfully', vps: { id: 7, name: 'web-1', status: 'running', created_at: '2025-10-27T10:30:00Z' } });

describe('request bodies and headers', () => {
  it('sends the three actions exactly as PANEL_API.md specifies', async () => {
    const { url, seen } = await capture(() => [201, created]);
    // A trailing slash on the configured URL must not double the slash.
    const client = createPanelClient({ url: `${url}/`, apiKey: API_KEY, timeoutMs: 5000, logger: capturingLogger().logger });
    try {
      await client.create(FIELDS);
      await client.update(7, { ...FIELDS, status: 'suspended' });
      await client.delete(7);
    } finally {
      client.close();
    }
    expect(seen.map((c) => [c.method, c.url])).toEqual([
      ['POST', '/api/vps/sync'], ['POST', '/api/vps/sync'], ['POST', '/api/vps/sync'],
    ]);
    for (const c of seen) {
      expect(c.headers['content-type']).toBe('application/json');
      expect(c.headers['x-api-key']).toBe(API_KEY);
    }
    expect(seen.map((c) => c.body)).toEqual([
      { action: 'create', vps: { user_id: 5, name: 'web-1', cpu: 2, ram: 8192, disk: 50, os: 'Ubuntu 22.04 LTS', status: 'running', hypervisor: 'proxmox' } },
      { action: 'update', vps: { id: 7, status: 'suspended', name: 'web-1', cpu: 2, ram: 8192, disk: 50, os: 'Ubuntu 22.04 LTS', hypervisor: 'proxmox', user_id: 5 } },
      { action: 'delete', vps: { id: 7 } },
    ]);
  });

  it('scrubs the key when a misbehaving proxy echoes it back', async () => {
    const { url } = await capture((c) => [400, JSON.stringify({ error: 'Bad Request', message: `bad header ${String(c.headers['x-api-key'])}` })]);
    const log = capturingLogger();
    const client = createPanelClient({ url, apiKey: API_KEY, timeoutMs: 5000, logger: log.logger });
    try {
      const r = await client.create(FIELDS);
      expect(r).toMatchObject({ ok: false, kind: 'rejected', message: 'panel create: 400 Bad Request: bad header ***' });
      expect(log.lines.join('')).not.toContain(API_KEY);
      expect(log.lines.join('')).toContain('bad header ***');
    } finally {
      client.close();
    }
  });

  it('does not follow a redirect (a POST would become a GET) and says where it points', async () => {
    const { url, seen } = await capture(() => [301, '', { Location: 'https://panel.example/api/vps/sync' }]);
    const client = createPanelClient({ url, apiKey: API_KEY, timeoutMs: 5000, logger: capturingLogger().logger });
    try {
      const r = await client.create(FIELDS);
      expect(r).toMatchObject({ ok: false, kind: 'rejected', status: 301 });
      expect((r as { message: string }).message).toContain('redirected to https://panel.example/api/vps/sync');
      expect(seen).toHaveLength(1);
    } finally {
      client.close();
    }
  });
});

describe('HTTPS', () => {
  it('an untrusted certificate is retryable (nothing sent); trusting its CA makes it work', async () => {
    const cert = await generateSelfSignedCert();
    let requests = 0;
    const server = createHttpsServer({ cert: cert.cert, key: cert.key }, (req, res) => {
      requests++;
      req.resume();
      req.on('end', () => {
        res.writeHead(201, { 'Content-Type': 'application/json' });
        res.end(created);
      });
    });
    const url = await listen(server, 'https');
    const logger = capturingLogger().logger;

    const untrusting = createPanelClient({ url, apiKey: API_KEY, timeoutMs: 5000, logger });
    const trusting = createPanelClient({ url, apiKey: API_KEY, timeoutMs: 5000, logger, ca: cert.cert });
    try {
      const refused = await untrusting.create(FIELDS);
      expect(refused).toMatchObject({ ok: false, kind: 'retryable' });
      expect((refused as { message: string }).message).toMatch(/^panel create: request not delivered: .*(CERT|SIGNED)/);
      expect(requests).toBe(0);
      expect(await trusting.create(FIELDS)).toEqual({ ok: true, status: 201, value: { id: 7 } });
    } finally {
      untrusting.close();
      trusting.close();
    }
  });
});
