// The daemon's HTTP listener on node:http: constructed inert, bound by start(), closed by stop().
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { DaemonControl } from '../engine/control.js';
import type { Logger } from '../util/logger.js';
import { DEFAULT_LISTEN, formatUrl, parseListen } from './listen.js';
import { handleRequest } from './routes.js';

export interface HttpServerOptions {
  /** `host:port`; defaults to loopback 127.0.0.1:9477. Port 0 picks a free port (tests). */
  readonly listen?: string;
  /** Bearer token for POST /resync; without it the admin endpoint answers 403. */
  readonly adminToken?: string | undefined;
  readonly control: DaemonControl;
  readonly metrics: { readonly registry: Registry };
  readonly logger: Logger;
  /** /readyz fails when the last successful pass is older than this (default 600). */
  readonly readyMaxAgeSeconds?: number;
  /** Wall clock in ms (injected for tests). */
  readonly now?: () => number;
}

export interface HttpServer {
  /** Binds the listener; resolves with the base URL once it accepts connections. */
  start(): Promise<{ url: string }>;
  /** Stops accepting, closes idle and open connections, resolves when closed. */
  stop(): Promise<void>;
}

/** Creates the HTTP server for /metrics, /healthz, /readyz, /status and POST /resync. */
export function createHttpServer(options: HttpServerOptions): HttpServer {
  return new NodeHttpServer(options);
}

class NodeHttpServer implements HttpServer {
  private server: Server | null = null;

  constructor(private readonly options: HttpServerOptions) {}

  async start(): Promise<{ url: string }> {
    if (this.server) throw new Error('http server already started');
    const o = this.options;
    const { host, port } = parseListen(o.listen ?? DEFAULT_LISTEN);
    const deps = {
      control: o.control,
      registry: o.metrics.registry,
      logger: o.logger,
      adminToken: o.adminToken === '' ? undefined : o.adminToken,
      readyMaxAgeSeconds: o.readyMaxAgeSeconds ?? 600,
      now: o.now ?? Date.now,
    };
    // Short limits: every answer is small and local; a slow client must not hold sockets. node:http
    // enforces headersTimeout and requestTimeout only when it sweeps its connections, every
    // connectionsCheckingInterval (30 s by default), so that sweep runs every second.
    const server = createServer({ connectionsCheckingInterval: 1_000, headersTimeout: 5_000, requestTimeout: 10_000, keepAliveTimeout: 5_000 }, (req, res) => void handleRequest(req, res, deps));
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(new Error(`http: cannot listen on ${formatUrl(host, port)}: ${err.code ?? err.message}`, { cause: err }));
      };
      server.once('error', onError);
      server.listen({ host, port }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    server.on('error', (err) => o.logger.error({ err }, 'http: server error'));
    this.server = server;
    const bound = server.address() as AddressInfo;
    const url = formatUrl(bound.address, bound.port);
    o.logger.info({ url, adminEndpoint: deps.adminToken ? 'enabled' : 'disabled' }, 'http: listening');
    return { url };
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Keep-alive sockets (Prometheus keeps one) would otherwise hold close() open.
      server.closeAllConnections();
    });
  }
}
