// The Proxmox VE simulator: one HTTP(S) server on loopback serving `/api2/json` (token auth)
// and the `/_sim/` control API, over an in-memory inventory with fault injection.
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { listenOn } from '../listen.js';
import { generateSelfSignedCert, type SelfSignedCert } from '../tls.js';
import { PveApi, type SimToken } from './api.js';
import { SimControl } from './control.js';
import { RequestCounters } from './counters.js';
import { FaultSet } from './faults.js';
import { Inventory } from './inventory.js';
import { NULL_BODY, send } from './respond.js';

export interface ProxmoxSimulatorOptions {
  readonly tokens: readonly SimToken[];
  /** HTTPS with a fresh self-signed certificate (default true), like a fresh PVE install. */
  readonly tls?: boolean;
  readonly host?: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /**
   * Another node of the same cluster: share its inventory (every node serves the whole cluster)
   * and its certificate (one CA file trusts every node, as the cluster's pve-root-ca does).
   */
  readonly nodeOf?: ProxmoxSimulator;
}

export interface SimulatorAddress {
  readonly url: string;
  /** The server's self-signed certificate; trust it as the CA. Empty without TLS. */
  readonly caPem: string;
}

/** A fake Proxmox VE cluster for tests, the demo and the benchmark; `start()`/`stop()` own the server. */
export class ProxmoxSimulator {
  readonly inventory: Inventory;
  readonly counters = new RequestCounters();
  readonly faults = new FaultSet(() => this.syncDown());
  private server: http.Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private downTimer: NodeJS.Timeout | undefined;
  private listening = false;
  private address: SimulatorAddress | undefined;
  private port = 0;

  private certificate: SelfSignedCert | undefined;

  constructor(private readonly options: ProxmoxSimulatorOptions) {
    this.inventory = options.nodeOf?.inventory ?? new Inventory();
  }

  /** Starts listening; resolves with the base URL and the certificate to trust. */
  async start(): Promise<SimulatorAddress> {
    if (this.address) return this.address;
    const tls = this.options.tls ?? true;
    const handler = this.handler();
    let caPem = '';
    if (tls) {
      const shared = this.options.nodeOf?.certificate;
      if (this.options.nodeOf && !shared) throw new Error('proxmox simulator: start the first node of the cluster (nodeOf) before this one');
      const cert = (this.certificate = shared ?? (await generateSelfSignedCert()));
      caPem = cert.cert;
      this.server = https.createServer({ key: cert.key, cert: cert.cert }, handler);
    } else {
      this.server = http.createServer(handler);
    }
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.port = this.options.port ?? 0;
    await this.listen();
    const host = this.options.host ?? '127.0.0.1';
    const shownHost = host.includes(':') ? `[${host}]` : host;
    this.address = { url: `${tls ? 'https' : 'http'}://${shownHost}:${this.port}`, caPem };
    this.syncDown();
    return this.address;
  }

  /** Base URL (`https://127.0.0.1:PORT`); throws before `start()`. */
  get url(): string {
    if (!this.address) throw new Error('proxmox simulator not started');
    return this.address.url;
  }

  /** Stops listening, drops every connection and pending delay. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.address = undefined;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.downTimer) clearTimeout(this.downTimer);
    for (const s of this.sockets) s.destroy();
    if (this.listening) {
      this.listening = false;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  private handler(): http.RequestListener {
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.timers.delete(t);
          resolve();
        }, ms);
        this.timers.add(t);
      });
    const api = new PveApi({ inventory: this.inventory, faults: this.faults, counters: this.counters, tokens: this.options.tokens, sleep });
    const control = new SimControl({ inventory: this.inventory, faults: this.faults, counters: this.counters });
    return (req, res) => {
      const url = new URL(req.url ?? '/', 'http://sim');
      const work = url.pathname.startsWith('/_sim/')
        ? control.handle(req, res, url)
        : url.pathname.startsWith('/api2/')
          ? api.handle(req, res, url)
          : send(res, 404, 'Not Found', NULL_BODY);
      work.catch(() => res.destroy());
    };
  }

  private async listen(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await listenOn(server, this.port, this.options.host ?? '127.0.0.1');
    const addr = server.address();
    if (addr && typeof addr === 'object') this.port = addr.port;
    this.listening = true;
  }

  /** Closes the listener while a `down`/refuse fault is armed and reopens it (same port) after. */
  private syncDown(): void {
    const server = this.server;
    if (!server || !this.address) return;
    const down = this.faults.peek('down');
    const refuse = down?.mode === 'refuse';
    if (this.downTimer) clearTimeout(this.downTimer);
    this.downTimer = undefined;
    if (refuse) {
      if (down.durationMs !== undefined) this.downTimer = setTimeout(() => this.faults.clear('down'), down.durationMs);
      if (!this.listening) return;
      this.listening = false;
      server.close();
      for (const s of this.sockets) s.destroy();
    } else if (!this.listening) {
      // Marked at once so a second change cannot start a second listen on the same server.
      this.listening = true;
      this.listen().catch(() => {
        // The port stayed taken (see listenOn); the simulator stays down and tests will say so.
        this.listening = false;
      });
    }
  }
}
