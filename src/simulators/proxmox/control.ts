// The `/_sim/` control API: lets a test or benchmark in another process drive the inventory,
// the faults and the counters over plain JSON (no auth: the simulator only binds loopback).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { RequestCounters } from './counters.js';
import { faultSpecSchema, type FaultKind, type FaultSet } from './faults.js';
import { guestInputSchema, guestPatchSchema } from './guest.js';
import type { Inventory } from './inventory.js';
import { readJson, sendControl } from './respond.js';

export interface ControlDeps {
  readonly inventory: Inventory;
  readonly faults: FaultSet;
  readonly counters: RequestCounters;
}

const seedSchema = z.strictObject({
  n: z.number().int().min(0).max(1_000_000),
  nodes: z.union([z.number().int().min(1).max(1000), z.array(z.string().min(1)).min(1)]).optional(),
  seed: z.number().int().optional(),
  startVmid: z.number().int().min(1).optional(),
});

/** `POST /_sim/nodes/{node}`: take a node offline (its guests listed without a state) or back. */
const nodeStateSchema = z.strictObject({ online: z.boolean() });

/** Turns a zod failure into `field: message; …`. */
function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
}

/** The simulator's control endpoints, as one request handler. */
export class SimControl {
  constructor(private readonly deps: ControlDeps) {}

  /** Answers one request under `/_sim/`. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    try {
      await this.route(req, res, url);
    } catch (err) {
      const message = err instanceof z.ZodError ? describe(err) : (err as Error).message;
      sendControl(res, 400, { error: message });
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const { inventory, faults, counters } = this.deps;
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/\/+$/, '');
    const guest = /^\/_sim\/guests\/(\d+)$/.exec(path);
    const faultKind = /^\/_sim\/faults\/([A-Za-z0-9]+)$/.exec(path);
    const node = /^\/_sim\/nodes\/([^/]+)$/.exec(path);

    if (path === '/_sim/guests' && method === 'GET') return sendControl(res, 200, { guests: inventory.list() });
    if (path === '/_sim/guests' && (method === 'POST' || method === 'PUT')) {
      return sendControl(res, 200, { guest: inventory.upsert(guestInputSchema.parse(await readJson(req))) });
    }
    if (path === '/_sim/guests' && method === 'DELETE') {
      inventory.clear();
      return sendControl(res, 200, { ok: true });
    }
    if (guest) {
      const vmid = Number(guest[1]);
      if (method === 'GET') {
        const g = inventory.get(vmid);
        return g ? sendControl(res, 200, { guest: g }) : sendControl(res, 404, { error: `no guest ${vmid}` });
      }
      if (method === 'PATCH') {
        const g = inventory.update(vmid, guestPatchSchema.parse(await readJson(req)));
        return g ? sendControl(res, 200, { guest: g }) : sendControl(res, 404, { error: `no guest ${vmid}` });
      }
      if (method === 'DELETE') {
        return inventory.remove(vmid) ? sendControl(res, 200, { ok: true }) : sendControl(res, 404, { error: `no guest ${vmid}` });
      }
    }
    if (path === '/_sim/seed' && method === 'POST') {
      const { n, ...options } = seedSchema.parse(await readJson(req));
      inventory.seed(n, options);
      return sendControl(res, 200, { ok: true, guests: inventory.size, nodes: inventory.nodes() });
    }
    if (path === '/_sim/nodes' && method === 'GET') return sendControl(res, 200, { nodes: inventory.nodes(), offline: inventory.offlineNodes() });
    if (node && (method === 'POST' || method === 'PUT')) {
      const { online } = nodeStateSchema.parse(await readJson(req));
      inventory.setNodeOnline(decodeURIComponent(node[1]!), online);
      return sendControl(res, 200, { offline: inventory.offlineNodes() });
    }
    if (path === '/_sim/counters' && method === 'GET') return sendControl(res, 200, { counters: counters.snapshot(), total: counters.total() });
    if ((path === '/_sim/counters' && method === 'DELETE') || (path === '/_sim/counters/reset' && method === 'POST')) {
      counters.reset();
      return sendControl(res, 200, { ok: true });
    }
    if (path === '/_sim/faults' && method === 'GET') return sendControl(res, 200, { faults: faults.list() });
    if (path === '/_sim/faults' && method === 'POST') {
      const spec = faultSpecSchema.parse(await readJson(req));
      // Refusing connections forever would also lock this control API out.
      if (spec.kind === 'down' && spec.mode === 'refuse' && spec.durationMs === undefined) {
        return sendControl(res, 400, { error: 'down with mode "refuse" needs durationMs over HTTP (the control API goes down too); or use mode "reset"' });
      }
      if (spec.kind === 'down' && spec.mode === 'refuse') {
        // Answer first: refusing connections also closes this very one.
        res.once('finish', () => faults.set(spec));
        return sendControl(res, 200, { fault: spec });
      }
      return sendControl(res, 200, { fault: faults.set(spec) });
    }
    if (path === '/_sim/faults' && method === 'DELETE') {
      faults.clear();
      return sendControl(res, 200, { ok: true });
    }
    if (faultKind && method === 'DELETE') {
      faults.clear(faultKind[1] as FaultKind);
      return sendControl(res, 200, { ok: true });
    }
    sendControl(res, 404, { error: `no control endpoint ${method} ${url.pathname}` });
  }
}
