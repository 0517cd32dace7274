// A vCenter speaking the vSphere Automation REST API over HTTPS, `/api` and/or `/rest`,
// with an in-memory inventory and switchable faults. For tests, the benchmark and the demo.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateSelfSignedCert } from '../tls.js';
import { handleControl } from './control.js';
import { errorBody, SimError } from './errors.js';
import { SimInventory, type SimConnectionState, type SimPowerState, type SimVmInput } from './inventory.js';
import type { Flavor } from './render.js';
import { seedInventory, type SeedOptions } from './seed.js';
import { Counters, noFaults, type SimFaults } from './state.js';
import { handleVcenter, type VcenterState } from './vcenter.js';

export interface VsphereSimulatorOptions {
  readonly username: string;
  readonly password: string;
  /** API flavours served (default both); leaving out `api` makes `/api/*` answer 404, as vCenter 6.7 does. */
  readonly flavors?: readonly Flavor[];
  /** Matches above which `GET /vcenter/vm` fails with `unable_to_allocate_resource` (default 4000). */
  readonly listLimit?: number;
  readonly host?: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
}

const MAX_CONTROL_BODY = 1024 * 1024;

/** The vSphere simulator: `start()` listens, `stop()` closes every connection. */
export class VsphereSimulator {
  readonly inventory = new SimInventory();
  readonly faults: SimFaults = noFaults();
  readonly counters = new Counters();
  private readonly sessions = new Set<string>();
  private server: Server | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly options: VsphereSimulatorOptions) {}

  /** Generates a self-signed certificate and listens; resolves with the base URL and the PEM to trust. */
  async start(): Promise<{ url: string; caPem: string }> {
    if (this.server) throw new Error('vSphere simulator already started');
    const { cert, key } = await generateSelfSignedCert();
    const server = createServer({ cert, key }, (req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) send(res, 500, { error: String(error) });
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => resolve());
    });
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return { url: `https://${host}:${address.port}`, caPem: cert };
  }

  /** Stops listening and drops open connections. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  /** Replaces the inventory with `n` deterministic VMs. */
  seed(n: number, options?: SeedOptions): void {
    seedInventory(this.inventory, n, options);
  }

  /** Creates or changes a VM; returns its id. */
  upsertVm(input: SimVmInput): string {
    return this.inventory.upsertVm(input);
  }

  /** Deletes a VM. */
  removeVm(id: string): void {
    if (!this.inventory.removeVm(id)) throw new Error(`no VM ${id}`);
  }

  /** Powers a VM on, off, or suspends it (on a host in standby, powering on wakes the host). */
  setPower(id: string, state: SimPowerState): void {
    this.inventory.setVmPower(id, state);
  }

  /** Changes how vCenter sees a host (DISCONNECTED, NOT_RESPONDING: its VMs listed as last seen). */
  setHostConnection(hostId: string, connection: SimConnectionState): void {
    this.inventory.setHostConnection(hostId, connection);
  }

  /** Puts a connected host whose VMs are all off in standby (as DPM does), or takes it out. */
  setHostStandby(hostId: string, standby: boolean): void {
    this.inventory.setHostStandby(hostId, standby);
  }

  /** Starts or stops VMware Tools in a VM (stopped → guest endpoints answer 503). */
  setTools(id: string, running: boolean): void {
    this.inventory.vm(id).tools = running;
  }

  /** Replaces a VM's disk capacities (bytes). */
  setDisks(id: string, capacities: number[]): void {
    this.inventory.vm(id).disks = capacities;
  }

  /** Invalidates every session, so the next call with one answers 401. */
  expireSessions(): void {
    this.sessions.clear();
  }

  /** Number of live sessions (a client that logged out leaves none). */
  sessionCount(): number {
    return this.sessions.size;
  }

  /** Makes VM listings filtered by this cluster or host id answer 500. */
  failShard(id: string): void {
    this.faults.failShards.add(id);
  }

  /** Makes the detail of one VM answer 500 (until `clearFaults`). */
  failDetail(id: string): void {
    this.faults.failDetails.add(id);
  }

  /** Makes every guest endpoint answer 503. */
  setGuestUnavailable(on: boolean): void {
    this.faults.guestUnavailable = on;
  }

  /** Delays every vCenter answer. */
  setSlowMs(ms: number): void {
    this.faults.slowMs = ms;
  }

  /** Makes every vCenter answer stall after its headers and half its body (a trickling answer). */
  setStallBodyMs(ms: number): void {
    this.faults.stallBodyMs = ms;
  }

  /** Hides the host and cluster tree from the account (their listings answer `[]`) while on. */
  setHostTreeHidden(on: boolean): void {
    this.faults.hostTreeHidden = on;
  }

  /** Drops every vCenter connection without an answer while on. */
  setDown(on: boolean): void {
    this.faults.down = on;
  }

  /** Turns every fault off. */
  clearFaults(): void {
    Object.assign(this.faults, noFaults());
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://sim.invalid');
    const method = req.method ?? 'GET';
    if (url.pathname.startsWith('/_sim/')) {
      const body = await readJson(req);
      const answer = handleControl(
        { inventory: this.inventory, faults: this.faults, sessions: this.sessions, counters: this.counters },
        method,
        url.pathname.slice('/_sim'.length),
        body,
      );
      return send(res, answer.status, answer.body);
    }
    req.resume();
    if (this.faults.down) {
      req.socket.destroy();
      return;
    }
    if (this.faults.slowMs > 0) await this.delay(this.faults.slowMs);
    if (res.destroyed) return;

    const flavor: Flavor | null = url.pathname.startsWith('/api/') ? 'api' : url.pathname.startsWith('/rest/') ? 'rest' : null;
    const flavors = this.options.flavors ?? ['api', 'rest'];
    if (flavor === null || !flavors.includes(flavor)) return sendNotFoundPage(res);
    try {
      const answer = handleVcenter(this.vcenterState(), {
        flavor,
        method,
        path: url.pathname.slice(flavor.length + 1),
        query: url.searchParams,
        authorization: req.headers.authorization,
        sessionId: headerValue(req.headers['vmware-api-session-id']),
      });
      if (answer === null) return this.answer(res, 404, errorBody(new SimError(404, 'NOT_FOUND', 'vapi.method.not_found', 'Operation not found.'), flavor));
      this.answer(res, answer.status, answer.body);
    } catch (error) {
      if (!(error instanceof SimError)) throw error;
      this.answer(res, error.status, errorBody(error, flavor));
    }
  }

  /** Sends a vCenter answer, stalled half-way when that fault is on. */
  private answer(res: ServerResponse, status: number, body: unknown): void {
    const stall = this.faults.stallBodyMs;
    if (stall <= 0 || body === undefined || res.destroyed) return send(res, status, body);
    const text = Buffer.from(JSON.stringify(body));
    const half = Math.floor(text.length / 2);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': text.length });
    res.write(text.subarray(0, half));
    void this.delay(stall).then(() => {
      if (!res.destroyed) res.end(text.subarray(half));
    });
  }

  private vcenterState(): VcenterState {
    return {
      inventory: this.inventory,
      faults: this.faults,
      sessions: this.sessions,
      counters: this.counters,
      username: this.options.username,
      password: this.options.password,
      listLimit: this.options.listLimit ?? 4000,
    };
  }

  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed) return;
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

/** vCenter 6.7 answers unknown paths (all of `/api`) with an HTML 404 from its reverse proxy. */
function sendNotFoundPage(res: ServerResponse): void {
  const page = '<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1></body></html>';
  res.writeHead(404, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(page) }).end(page);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_CONTROL_BODY) throw new Error('control body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { __invalidJson: text.slice(0, 100) };
  }
}
