// The request handlers: a small fixed table of method+path, no framework.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { DaemonControl } from '../engine/control.js';
import type { Logger } from '../util/logger.js';
import { checkBearer } from './auth.js';

export interface RouteDeps {
  readonly control: DaemonControl;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly adminToken: string | undefined;
  readonly readyMaxAgeSeconds: number;
  readonly now: () => number;
}

const TEXT = 'text/plain; charset=utf-8';

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, deps: RouteDeps) => Promise<void> | void;

const ROUTES: Readonly<Record<string, Readonly<Record<string, Handler>>>> = {
  '/metrics': { GET: metrics },
  '/healthz': { GET: healthz },
  '/readyz': { GET: readyz },
  '/status': { GET: status },
  '/resync': { POST: resync },
};

/** Answers one request; never throws (errors become a 500 and a log line). */
export async function handleRequest(req: IncomingMessage, res: ServerResponse, deps: RouteDeps): Promise<void> {
  // We never read a body; draining it lets keep-alive connections continue.
  req.resume();
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return send(res, 400, TEXT, 'bad request target\n');
  }
  const methods = ROUTES[url.pathname];
  if (!methods) return send(res, 404, TEXT, `not found: ${url.pathname}\n`);
  // HEAD is served by the GET handler; node:http drops the body for HEAD.
  const method = req.method === 'HEAD' && methods.GET ? 'GET' : (req.method ?? '');
  const handler = methods[method];
  if (!handler) {
    const allow = Object.keys(methods).flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]));
    res.setHeader('Allow', allow.join(', '));
    return send(res, 405, TEXT, `method ${req.method ?? '?'} not allowed on ${url.pathname}; use ${allow.join(' or ')}\n`);
  }
  try {
    await handler(req, res, url, deps);
  } catch (err) {
    deps.logger.error({ err, path: url.pathname }, 'http: request failed');
    if (!res.headersSent) send(res, 500, TEXT, 'internal error\n');
    else res.destroy();
  }
}

async function metrics(_req: IncomingMessage, res: ServerResponse, _url: URL, deps: RouteDeps): Promise<void> {
  const body = await deps.registry.metrics();
  send(res, 200, deps.registry.contentType, body);
}

function healthz(_req: IncomingMessage, res: ServerResponse): void {
  send(res, 200, TEXT, 'ok\n');
}

function readyz(_req: IncomingMessage, res: ServerResponse, _url: URL, deps: RouteDeps): void {
  const last = deps.control.lastSuccessAtMs();
  if (last === null) return send(res, 503, TEXT, 'not ready: no successful pass yet\n');
  const age = Math.max(0, Math.round((deps.now() - last) / 1000));
  if (age > deps.readyMaxAgeSeconds) {
    return send(res, 503, TEXT, `not ready: last successful pass ${age}s ago (limit ${deps.readyMaxAgeSeconds}s)\n`);
  }
  send(res, 200, TEXT, `ready: last successful pass ${age}s ago\n`);
}

function status(_req: IncomingMessage, res: ServerResponse, _url: URL, deps: RouteDeps): void {
  // DaemonStatus is secret-free by construction; this is the belt to that pair of braces. Masked
  // in each string before serialising: a token with `"` or `\` is escaped in the JSON text, where
  // searching for it found nothing.
  const token = deps.adminToken;
  const body = JSON.stringify(deps.control.status(), token ? (_key, value: unknown) => (typeof value === 'string' ? value.split(token).join('***') : value) : undefined, 2);
  send(res, 200, 'application/json; charset=utf-8', `${body}\n`);
}

function resync(req: IncomingMessage, res: ServerResponse, url: URL, deps: RouteDeps): void {
  const remote = req.socket.remoteAddress;
  const auth = checkBearer(req.headers.authorization, deps.adminToken);
  if (auth === 'disabled') {
    deps.logger.warn({ remote }, 'http: POST /resync refused: no admin token configured');
    return sendJson(res, 403, { error: 'the admin endpoint is disabled: set http.adminToken (or the VPS_SYNC_ADMIN_TOKEN credential) to enable POST /resync' });
  }
  if (auth !== 'ok') {
    deps.logger.warn({ remote, auth }, 'http: POST /resync refused: bad or missing bearer token');
    res.setHeader('WWW-Authenticate', 'Bearer realm="ospab-vps-sync"');
    return sendJson(res, 401, { error: auth === 'missing' ? 'missing bearer token (Authorization: Bearer <admin token>)' : 'wrong bearer token' });
  }
  const full = parseFlag(url.searchParams.get('full'));
  if (full === undefined) return sendJson(res, 400, { error: 'full must be 1, true, 0 or false' });
  // force: the operator has checked the held deletes and wants them sent (what `once --force` does, without stopping the daemon).
  const force = parseFlag(url.searchParams.get('force'));
  if (force === undefined) return sendJson(res, 400, { error: 'force must be 1, true, 0 or false' });
  const query = [full ? 'full=1' : '', force ? 'force=1' : ''].filter(Boolean).join('&');
  const outcome = deps.control.requestPass({ full, force, reason: `http POST /resync${query ? `?${query}` : ''}` });
  if (!outcome.queued) {
    // Only a stopping daemon queues nothing. 202 would tell `curl -f` and scripts the pass is coming.
    deps.logger.warn({ remote, full, force }, 'http: resync refused: the daemon is stopping');
    res.setHeader('Retry-After', '30');
    return sendJson(res, 503, { error: 'the daemon is stopping and queued no pass; ask again once it runs', queued: false, coalesced: false, full, force });
  }
  deps.logger.info({ remote, full, force, ...outcome }, 'http: resync requested');
  sendJson(res, 202, { queued: outcome.queued, coalesced: outcome.coalesced, full, force });
}

// Absent or empty means false, so `POST /resync` is a normal pass and `?full=1` a full one.
function parseFlag(value: string | null): boolean | undefined {
  if (value === null || value === '' || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true') return true;
  return undefined;
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  send(res, code, 'application/json; charset=utf-8', `${JSON.stringify(body)}\n`);
}

function send(res: ServerResponse, code: number, contentType: string, body: string): void {
  res.writeHead(code, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(body);
}
