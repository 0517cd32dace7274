// The `/api2/json` endpoints the daemon uses, with token auth and the armed faults applied
// in the order a real failure would show them (connection, delay, auth, server error, body).
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { badEntry, BAD_ENTRY_CASES } from './bad-entries.js';
import type { RequestCounters } from './counters.js';
import type { FaultSet } from './faults.js';
import { lxcConfig, qemuConfig } from './guest.js';
import { RESOURCE_TYPES, type Inventory, type ResourceType } from './inventory.js';
import { dataBody, NULL_BODY, send } from './respond.js';

/** An API token the simulator accepts. */
export interface SimToken {
  /** `USER@REALM!TOKENID` */
  readonly tokenId: string;
  readonly secret: string;
}

export interface ApiDeps {
  readonly inventory: Inventory;
  readonly faults: FaultSet;
  readonly counters: RequestCounters;
  readonly tokens: readonly SimToken[];
  readonly sleep: (ms: number) => Promise<void>;
}

interface Answer {
  status: number;
  statusText: string;
  body: Buffer;
}

const PREFIX = '/api2/json';
const VERSION = { release: '8.2', repoid: 'faa83925c9641325', version: '8.2.4' };

function ok(data: unknown): Answer {
  return { status: 200, statusText: 'OK', body: dataBody(data) };
}

function fail(status: number, statusText: string, errors?: Record<string, string>): Answer {
  return { status, statusText, body: errors ? Buffer.from(JSON.stringify({ data: null, errors })) : NULL_BODY };
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The Proxmox REST endpoints, as one request handler. */
export class PveApi {
  constructor(private readonly deps: ApiDeps) {}

  /** Answers one request under `/api2/`. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const { faults, counters, sleep } = this.deps;
    counters.hit(url.pathname);
    if (faults.peek('down')) {
      faults.take('down');
      req.socket.destroy();
      return;
    }
    const slow = faults.take('slowMs');
    if (slow && slow.phase === 'headers') await sleep(slow.ms);
    if (!this.authorized(req.headers.authorization)) {
      await send(res, 401, 'permission denied - invalid PVE ticket', NULL_BODY);
      return;
    }
    const error500 = faults.take('status500');
    const answer = error500 ? fail(500, error500.message ?? 'internal error - simulated fault') : this.route(req.method ?? 'GET', url);

    const wrongType = faults.take('wrongContentType');
    let body = answer.body;
    if (faults.take('badJson')) body = Buffer.concat([body.subarray(0, Math.floor(body.length / 2)), Buffer.from('}{<html>proxy error')]);
    await send(res, answer.status, answer.statusText, body, {
      contentType: wrongType ? (wrongType.contentType ?? 'application/json') : undefined,
      truncate: Boolean(faults.take('truncated')),
      stallMs: slow && slow.phase === 'body' ? slow.ms : undefined,
      sleep,
    });
  }

  private authorized(header: string | undefined): boolean {
    const prefix = 'PVEAPIToken=';
    if (!header?.startsWith(prefix)) return false;
    const rest = header.slice(prefix.length);
    const eq = rest.indexOf('=');
    if (eq <= 0) return false;
    const tokenId = rest.slice(0, eq);
    const secret = rest.slice(eq + 1);
    return this.deps.tokens.some((t) => t.tokenId === tokenId && same(t.secret, secret));
  }

  private route(method: string, url: URL): Answer {
    const path = url.pathname.startsWith(PREFIX) ? url.pathname.slice(PREFIX.length) || '/' : url.pathname;
    if (!url.pathname.startsWith(`${PREFIX}/`)) return fail(404, 'Not Found');
    const notImplemented = fail(501, `Method '${method} ${path}' not implemented`);
    if (method !== 'GET') return notImplemented;
    if (path === '/version') return ok(VERSION);
    if (path === '/cluster/resources') return this.resources(url.searchParams.get('type'));
    const m = /^\/nodes\/([^/]+)\/(qemu|lxc)\/([^/]+)\/config$/.exec(path);
    if (m) return this.config(decodeURIComponent(m[1] ?? ''), m[2] as 'qemu' | 'lxc', m[3] ?? '');
    return notImplemented;
  }

  private resources(type: string | null): Answer {
    if (type !== null && !(RESOURCE_TYPES as readonly string[]).includes(type)) {
      return fail(400, 'Parameter verification failed.', {
        type: `value '${type}' does not have a value in the enumeration '${RESOURCE_TYPES.join(', ')}'`,
      });
    }
    const t = (type ?? undefined) as ResourceType | undefined;
    const { inventory, faults } = this.deps;
    const listsGuests = t === undefined || t === 'vm';
    const empty = listsGuests ? faults.take('emptyList') : undefined;
    const partial = listsGuests && !empty ? faults.take('partialList') : undefined;
    const bad = listsGuests ? faults.take('badEntries') : undefined;
    if (!empty && !partial && !bad) return { status: 200, statusText: 'OK', body: inventory.resourcesBody(t) };

    let guests = empty ? [] : inventory.guestEntries();
    if (partial) guests = guests.slice(0, Math.floor(guests.length * partial.fraction));
    if (bad) guests = [...guests, ...(bad.cases ?? BAD_ENTRY_CASES).map(badEntry)];
    return ok([...(t === undefined ? inventory.infraEntries() : []), ...guests]);
  }

  private config(node: string, type: 'qemu' | 'lxc', vmidText: string): Answer {
    if (!/^\d+$/.test(vmidText)) {
      return fail(400, 'Parameter verification failed.', { vmid: `type check ('integer') failed - got '${vmidText}'` });
    }
    const guest = this.deps.inventory.get(Number(vmidText));
    if (!guest || guest.node !== node || guest.type !== type) {
      const file = type === 'qemu' ? `qemu-server/${vmidText}.conf` : `lxc/${vmidText}.conf`;
      return fail(500, `Configuration file 'nodes/${node}/${file}' does not exist`);
    }
    return ok(type === 'qemu' ? qemuConfig(guest) : lxcConfig(guest));
  }
}
