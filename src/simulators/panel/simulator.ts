// A strict, in-memory fake of the panel's `POST /api/vps/sync`, with fault injection for tests and benchmarks.
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { listenOn } from '../listen.js';
import { handleControl, type ControlTarget } from './control.js';
import { FaultSet } from './faults.js';
import { readBody, sendJson, sendProxyErrorPage, sendRaw } from './http-util.js';
import { StatsCounter, type SimStats } from './stats.js';
import { parseJson, processSync, type SyncAnswer, type SyncInput } from './sync.js';
import { VpsTable } from './table.js';
import type { FaultSpec, InstalledFault, PanelRow, SimBehaviour, TableEvent } from './types.js';
import { actionOf } from './validate.js';

export interface PanelSimulatorOptions {
  readonly apiKey: string;
  /** Loopback by default. */
  readonly host?: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  readonly knownUserIds?: readonly number[] | 'any';
  readonly unknownId?: '404' | '200';
  readonly successStatus?: 200 | 201;
  /** Seed of the RNG behind probabilistic faults. */
  readonly seed?: number;
  /** Clock for `created_at`/`updated_at`. */
  readonly now?: () => number;
  /** Keep an append-only log of committed changes (`history()`); off by default. */
  readonly history?: boolean;
}

/** The fake panel; `start()` listens, `stop()` closes every connection. */
export class PanelSimulator implements ControlTarget {
  private server: Server | null = null;
  private port = 0;
  private upTimer: NodeJS.Timeout | null = null;
  private keyBuffer: Buffer | null = null;
  private keepHistory: boolean;
  private state: { table: VpsTable; faults: FaultSet; counters: StatsCounter; behaviour: SimBehaviour } | null = null;

  constructor(private readonly options: PanelSimulatorOptions) {
    this.keepHistory = options.history ?? false;
  }

  /** Listens and resolves with the base URL (`http://127.0.0.1:PORT`). */
  async start(): Promise<{ url: string }> {
    if (this.server) throw new Error('panel simulator already started');
    const server = createServer((req, res) => this.onRequest(req, res));
    // Longer than any client's idle-socket timeout, so a reused keep-alive socket is not closed under a request.
    server.keepAliveTimeout = 65_000;
    this.server = server;
    this.live();
    await this.listen(this.options.port ?? 0);
    return { url: this.url };
  }

  /** Closes the listener and every open connection. */
  async stop(): Promise<void> {
    if (this.upTimer) clearTimeout(this.upTimer);
    this.upTimer = null;
    const server = this.server;
    this.server = null;
    if (server?.listening) await closeServer(server);
  }

  /** The base URL; valid after `start()`. */
  get url(): string {
    return `http://${this.options.host ?? '127.0.0.1'}:${this.port}`;
  }

  /** A copy of the VPS table in id order. */
  table(): PanelRow[] {
    return this.live().table.snapshot();
  }

  /** Starts logging every committed create/update/delete (kept across `reset()`); see `history()`. */
  recordHistory(): void {
    this.keepHistory = true;
    this.live().table.recordHistory();
  }

  /** Every committed change since history was turned on (or since the last `reset()`), in commit order. */
  history(): TableEvent[] {
    return this.live().table.history();
  }

  /** Request counters plus the table size and the next id. */
  stats(): SimStats & { rows: number; nextId: number } {
    const s = this.live();
    return { ...s.counters.read(), rows: s.table.size, nextId: s.table.upcomingId };
  }

  /** Empties the table, counters and faults, restores the start options (and reseeds the RNG). */
  reset(seed?: number): void {
    this.state = null;
    this.live().faults.clear(seed ?? this.options.seed ?? 1);
  }

  /** Installs a fault; returns its id. */
  addFault(spec: FaultSpec): number {
    return this.live().faults.add(spec);
  }

  /** Removes one fault by id. */
  removeFault(id: number): boolean {
    return this.live().faults.remove(id);
  }

  /** Removes every fault. */
  clearFaults(): void {
    this.live().faults.clear();
  }

  /** The installed faults with their remaining counts. */
  faults(): InstalledFault[] {
    return this.live().faults.list();
  }

  /** Changes behaviour switches at run time; returns the new behaviour. */
  configure(change: Partial<SimBehaviour>): SimBehaviour {
    const s = this.live();
    s.behaviour = { ...s.behaviour, ...change };
    return { ...s.behaviour };
  }

  /** Stops listening (connections are refused) until `up()`. */
  async down(): Promise<void> {
    if (this.server?.listening) await closeServer(this.server);
  }

  /** Listens again on the same port after `down()`. */
  async up(): Promise<void> {
    if (this.upTimer) clearTimeout(this.upTimer);
    this.upTimer = null;
    if (this.server && !this.server.listening) await this.listen(this.port);
  }

  /** Refuses connections for `forMs`, then listens again by itself. */
  downFor(forMs: number): void {
    void this.down().then(() => {
      if (!this.server) return;
      this.upTimer = setTimeout(() => void this.up().catch(() => undefined), forMs);
    });
  }

  private live() {
    if (!this.state) {
      const table = new VpsTable(this.options.now ?? Date.now);
      if (this.keepHistory) table.recordHistory();
      this.state = {
        table,
        faults: new FaultSet(this.options.seed ?? 1),
        counters: new StatsCounter(),
        behaviour: {
          knownUserIds: this.options.knownUserIds ?? 'any',
          unknownId: this.options.unknownId ?? '404',
          successStatus: this.options.successStatus ?? 201,
        },
      };
    }
    return this.state;
  }

  private async listen(port: number): Promise<void> {
    const server = this.server!;
    await listenOn(server, port, this.options.host ?? '127.0.0.1');
    this.port = (server.address() as AddressInfo).port;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const work =
      path === '/api/vps/sync'
        ? this.onSync(req, res)
        : path.startsWith('/_sim/')
          ? handleControl(req, res, path, this)
          : Promise.resolve(sendJson(res, 404, { error: 'Not Found', message: `no route ${path}` }));
    work.catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error: 'Internal Server Error', message: 'simulator error' });
      else res.destroy();
    });
  }

  private async onSync(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const s = this.live();
    if (req.method !== 'POST') return this.reply(res, { status: 405, body: { error: 'Method Not Allowed', message: 'use POST' } });
    const raw = await readBody(req);
    const parsed = parseJson(raw);
    const action = parsed ? actionOf(parsed.value) : null;
    s.counters.countAction(action);
    const header = req.headers['x-api-key'];
    const input: SyncInput = {
      apiKey: Array.isArray(header) ? header[0] : header,
      contentType: req.headers['content-type'],
      raw,
      parsed,
    };
    const fault = s.faults.pick(action);
    if (fault === null) return this.reply(res, this.process(input));
    switch (fault.mode) {
      case 'status5xx': {
        const code = fault.code ?? 500;
        return this.reply(res, { status: code, body: { error: STATUS_CODES[code] ?? 'Server Error', message: 'simulated failure' } });
      }
      case 'resetBeforeCommit':
        return this.drop(req);
      case 'resetAfterCommit':
        this.process(input);
        return this.drop(req);
      case 'commitThenFail':
        this.process(input);
        return this.reply(res, { status: 500, body: { error: 'Internal Server Error', message: 'failed after commit (simulated)' } });
      case 'nonJson':
        s.counters.countResult(502);
        return sendProxyErrorPage(res);
      case 'slowMs':
        return this.slow(req, res, input, fault.ms, fault.commit ?? 'before');
      case 'foreign':
        s.counters.countResult(fault.status);
        return sendRaw(res, fault.status, echoHeaders(fault.body ?? '', req), fault.contentType);
    }
  }

  private async slow(req: IncomingMessage, res: ServerResponse, input: SyncInput, ms: number, commit: 'before' | 'after') {
    const early = commit === 'before' ? this.process(input) : null;
    await sleep(ms);
    if (req.socket.destroyed || !this.server) {
      // The client gave up; with commit "after", the handler's context is cancelled before the INSERT.
      this.live().counters.countResult('abandoned');
      return;
    }
    this.reply(res, early ?? this.process(input));
  }

  private process(input: SyncInput): SyncAnswer {
    const s = this.live();
    return processSync(input, { apiKey: this.keyBytes(), table: s.table, behaviour: s.behaviour });
  }

  private keyBytes(): Buffer {
    this.keyBuffer ??= Buffer.from(this.options.apiKey, 'utf8');
    return this.keyBuffer;
  }

  private reply(res: ServerResponse, answer: SyncAnswer): void {
    this.live().counters.countResult(answer.status);
    sendJson(res, answer.status, answer.body);
  }

  private drop(req: IncomingMessage): void {
    this.live().counters.countResult('reset');
    req.socket.destroy();
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** `body` with each `{{name}}` replaced by the request header `name` (empty when absent). */
function echoHeaders(body: string, req: IncomingMessage): string {
  return body.replace(/\{\{([a-z0-9-]+)\}\}/g, (_all, name: string) => {
    const value = req.headers[name];
    return Array.isArray(value) ? value.join(', ') : (value ?? '');
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
