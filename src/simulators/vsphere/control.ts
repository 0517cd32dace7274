// The unauthenticated `/_sim/` control API, so a benchmark in another process can inject faults
// and change the inventory. Bodies are validated; a bad body answers 400 saying what is wrong.
import { z } from 'zod';
import { SIM_CONNECTION_STATES, SIM_POWER_STATES, type SimConnectionState, type SimInventory } from './inventory.js';
import { inventorySummary } from './render.js';
import { seedInventory } from './seed.js';
import type { Counters, SimFaults } from './state.js';

export interface ControlState {
  readonly inventory: SimInventory;
  readonly faults: SimFaults;
  readonly sessions: Set<string>;
  readonly counters: Counters;
}

const powerState = z.enum(SIM_POWER_STATES as [string, ...string[]]);
const hostBody = z
  .strictObject({ connection: z.enum(SIM_CONNECTION_STATES as [string, ...string[]]).optional(), standby: z.boolean().optional() })
  .refine((b) => b.connection !== undefined || b.standby !== undefined, 'give connection, standby or both');
const faultsBody = z.strictObject({
  guestUnavailable: z.boolean().optional(),
  failShards: z.array(z.string()).optional(),
  failDetails: z.array(z.string()).optional(),
  slowMs: z.number().int().min(0).optional(),
  stallBodyMs: z.number().int().min(0).optional(),
  down: z.boolean().optional(),
  hostTreeHidden: z.boolean().optional(),
});
const seedBody = z.strictObject({
  n: z.number().int().min(0),
  clusters: z.number().int().min(0).optional(),
  hostsPerCluster: z.number().int().min(1).optional(),
  standaloneHosts: z.number().int().min(0).optional(),
  seed: z.number().int().optional(),
  clusterShare: z.array(z.number().min(0)).optional(),
});
const vmBody = z.strictObject({
  id: z.string().optional(),
  name: z.string(),
  host: z.string().optional(),
  folder: z.string().optional(),
  pool: z.string().optional(),
  power: powerState.optional(),
  cpu: z.number().optional(),
  memoryMiB: z.number().optional(),
  disks: z.array(z.number()).optional(),
  guestOs: z.string().optional(),
  guestFullName: z.string().optional(),
  tools: z.boolean().optional(),
});

/** Answers a `/_sim/...` request; `path` is the part after `/_sim`. */
export function handleControl(state: ControlState, method: string, path: string, body: unknown): { status: number; body: unknown } {
  const route = `${method} ${path}`;
  const vmAction = /^POST \/vms\/([^/]+)\/(power|tools|disks)$/.exec(route);
  try {
    if (route === 'GET /counters') return ok(state.counters.snapshot());
    if (route === 'POST /counters/reset') return ok(state.counters.reset());
    if (route === 'GET /inventory') return ok(inventorySummary(state.inventory));
    if (route === 'GET /hosts') return ok([...state.inventory.hosts.values()]);
    if (route === 'POST /expire-sessions') return ok(state.sessions.clear());
    if (route === 'POST /faults') {
      const f = parse(faultsBody, body);
      if (f.guestUnavailable !== undefined) state.faults.guestUnavailable = f.guestUnavailable;
      if (f.failShards !== undefined) state.faults.failShards = new Set(f.failShards);
      if (f.failDetails !== undefined) state.faults.failDetails = new Set(f.failDetails);
      if (f.slowMs !== undefined) state.faults.slowMs = f.slowMs;
      if (f.stallBodyMs !== undefined) state.faults.stallBodyMs = f.stallBodyMs;
      if (f.down !== undefined) state.faults.down = f.down;
      if (f.hostTreeHidden !== undefined) state.faults.hostTreeHidden = f.hostTreeHidden;
      return ok({ ...state.faults, failShards: [...state.faults.failShards], failDetails: [...state.faults.failDetails] });
    }
    if (route === 'POST /seed') {
      const s = parse(seedBody, body);
      seedInventory(state.inventory, s.n, s);
      return ok(inventorySummary(state.inventory));
    }
    if (route === 'POST /vms') {
      const v = parse(vmBody, body);
      return ok({ vm: state.inventory.upsertVm(v as Parameters<SimInventory['upsertVm']>[0]) });
    }
    const hostMatch = /^POST \/hosts\/([^/]+)$/.exec(route);
    if (hostMatch) {
      const hostId = decodeURIComponent(hostMatch[1]!);
      const change = parse(hostBody, body);
      if (change.connection !== undefined) state.inventory.setHostConnection(hostId, change.connection as SimConnectionState);
      if (change.standby !== undefined) state.inventory.setHostStandby(hostId, change.standby);
      return ok({});
    }
    const deleteMatch = /^DELETE \/vms\/([^/]+)$/.exec(route);
    if (deleteMatch) {
      const removed = state.inventory.removeVm(decodeURIComponent(deleteMatch[1]!));
      return removed ? ok({}) : { status: 404, body: { error: `no VM ${deleteMatch[1]}` } };
    }
    if (vmAction) {
      const vm = state.inventory.vm(decodeURIComponent(vmAction[1]!));
      if (vmAction[2] === 'power') state.inventory.setVmPower(vm.id, parse(z.strictObject({ state: powerState }), body).state as typeof vm.power);
      if (vmAction[2] === 'tools') vm.tools = parse(z.strictObject({ running: z.boolean() }), body).running;
      if (vmAction[2] === 'disks') vm.disks = parse(z.strictObject({ capacities: z.array(z.number()) }), body).capacities;
      return ok({});
    }
    return { status: 404, body: { error: `no control route ${route}` } };
  } catch (error) {
    return { status: 400, body: { error: (error as Error).message } };
  }
}

function ok(body: unknown): { status: number; body: unknown } {
  return { status: 200, body: body ?? {} };
}

function parse<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const result = schema.safeParse(body);
  if (!result.success) {
    throw new Error(`invalid body: ${result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return result.data;
}
