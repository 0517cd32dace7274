// Keep-alive agents that remember whether each socket finished connecting, so a failure can be
// told apart as "the request never left" (safe to retry a create) or "it may have arrived".
import http from 'node:http';
import https from 'node:https';
import { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';

const CONNECTED = Symbol('ospab.panel.connected');

/** True when this socket (a ClientRequest's `socket`) completed its TCP connect and, for HTTPS, its TLS handshake. */
export function socketConnected(socket: unknown): boolean {
  return typeof socket === 'object' && socket !== null && (socket as Record<symbol, unknown>)[CONNECTED] === true;
}

function track(stream: Duplex | null | undefined): Duplex | null | undefined {
  const mark = () => {
    (stream as unknown as Record<symbol, unknown>)[CONNECTED] = true;
  };
  // A TLSSocket emits `connect` after TCP; only `secureConnect` means request bytes can flow.
  if (stream instanceof TLSSocket) stream.once('secureConnect', mark);
  else if (stream instanceof Socket) stream.once('connect', mark);
  return stream;
}

class TrackingHttpAgent extends http.Agent {
  override createConnection(options: http.ClientRequestArgs, cb?: (err: Error | null, s: Duplex) => void) {
    return track(super.createConnection(options, cb));
  }
}

class TrackingHttpsAgent extends https.Agent {
  override createConnection(options: https.RequestOptions, cb?: (err: Error | null, s: Duplex) => void) {
    return track(super.createConnection(options, cb));
  }
}

export interface AgentOptions {
  /** Sockets per host: at least the engine's concurrency, or requests queue inside the agent. */
  readonly maxSockets: number;
  /** Idle keep-alive sockets are closed after this, before a server's own idle timeout can race a new request. */
  readonly idleSocketMs: number;
  /** Extra CA (PEM) for a panel behind a private CA. */
  readonly ca?: string;
}

/** Creates the http and https agents the panel client uses. */
export function createAgents(options: AgentOptions): { httpAgent: http.Agent; httpsAgent: https.Agent } {
  const common = {
    keepAlive: true,
    maxSockets: options.maxSockets,
    maxFreeSockets: options.maxSockets,
    timeout: options.idleSocketMs,
    scheduling: 'lifo' as const,
  };
  return {
    httpAgent: new TrackingHttpAgent(common),
    httpsAgent: new TrackingHttpsAgent(options.ca ? { ...common, ca: options.ca } : common),
  };
}
