// The simulator's unauthenticated control API under `/_sim/`, for tests and benchmarks in other processes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { readBody, sendJson } from './http-util.js';
import { parseJson } from './sync.js';
import { behaviourSchema, downSchema, faultSpecSchema, resetSchema } from './control-schema.js';
import type { SimStats } from './stats.js';
import type { FaultSpec, InstalledFault, PanelRow, SimBehaviour } from './types.js';

/** What the control API can do to a simulator. */
export interface ControlTarget {
  table(): PanelRow[];
  stats(): SimStats & { rows: number; nextId: number };
  reset(seed?: number): void;
  addFault(spec: FaultSpec): number;
  removeFault(id: number): boolean;
  clearFaults(): void;
  faults(): InstalledFault[];
  configure(change: Partial<SimBehaviour>): SimBehaviour;
  /** Refuses connections for `forMs`, answering this request first. */
  downFor(forMs: number): void;
}

/** Answers one `/_sim/...` request. */
export async function handleControl(req: IncomingMessage, res: ServerResponse, path: string, sim: ControlTarget): Promise<void> {
  const route = `${req.method ?? 'GET'} ${path}`;
  const body = req.method === 'POST' ? await readJson(req) : undefined;
  switch (route) {
    case 'GET /_sim/table':
      return sendJson(res, 200, { rows: sim.table() });
    case 'GET /_sim/stats':
      return sendJson(res, 200, sim.stats());
    case 'GET /_sim/process':
      // CPU time of the process serving this simulator: what a benchmark needs to tell how much
      // of the machine the panel itself took (in a test that embeds the simulator, the test's too).
      return sendJson(res, 200, processCpu());
    case 'GET /_sim/faults':
      return sendJson(res, 200, { faults: sim.faults() });
    case 'DELETE /_sim/faults':
      sim.clearFaults();
      return sendJson(res, 200, { ok: true });
    case 'POST /_sim/faults':
      return withBody(res, faultSpecSchema, body, (spec) => sendJson(res, 201, { id: sim.addFault(spec as FaultSpec) }));
    case 'POST /_sim/reset':
      return withBody(res, resetSchema, body ?? {}, (r) => {
        sim.reset(r.seed);
        sendJson(res, 200, { ok: true });
      });
    case 'POST /_sim/config':
      return withBody(res, behaviourSchema, body, (change) => sendJson(res, 200, sim.configure(change)));
    case 'POST /_sim/down':
      return withBody(res, downSchema, body, (d) => {
        sendJson(res, 200, { ok: true, forMs: d.forMs });
        res.once('finish', () => sim.downFor(d.forMs));
      });
  }
  const one = /^DELETE \/_sim\/faults\/(\d+)$/.exec(route);
  if (one) {
    return sim.removeFault(Number(one[1])) ? sendJson(res, 200, { ok: true }) : sendJson(res, 404, { error: 'Not Found', message: 'no such fault' });
  }
  sendJson(res, 404, { error: 'Not Found', message: `no control route ${route}` });
}

/** The serving process's id and CPU time (user + system, all threads) in microseconds. */
function processCpu(): { pid: number; cpuMicros: number } {
  const { user, system } = process.cpuUsage();
  return { pid: process.pid, cpuMicros: user + system };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const raw = await readBody(req);
  if (raw === null || raw.trim() === '') return undefined;
  const parsed = parseJson(raw);
  // A non-JSON body becomes a value no schema accepts, so the caller gets a 400.
  return parsed === null ? Symbol('not json') : parsed.value;
}

function withBody<S extends z.ZodType>(res: ServerResponse, schema: S, body: unknown, then: (value: z.infer<S>) => void): void {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
    return sendJson(res, 400, { error: 'Bad Request', message: detail });
  }
  then(parsed.data);
}
