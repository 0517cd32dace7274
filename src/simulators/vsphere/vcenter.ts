// The vCenter REST endpoints, shared by both flavours: handlers compute the answer, the flavour
// decides the spelling (`filter.` prefixes, `{value}` wrapping, device maps vs lists).
import { timingSafeEqual, randomBytes } from 'node:crypto';
import { SimError, toolsNotRunning, tooManyVms, unauthenticated, vmNotFound } from './errors.js';
import type { SimInventory, SimVmFilter } from './inventory.js';
import { clusterSummary, folderSummary, guestIdentity, hostSummary, poolSummary, vmDetail, vmSummary, type Flavor } from './render.js';
import type { Counters, SimFaults } from './state.js';

/** Everything a handler may read or change. */
export interface VcenterState {
  readonly inventory: SimInventory;
  readonly faults: SimFaults;
  readonly sessions: Set<string>;
  readonly counters: Counters;
  readonly username: string;
  readonly password: string;
  readonly listLimit: number;
}

/** What to send back: a JSON body (undefined → no body). */
export interface VcenterAnswer {
  readonly status: number;
  readonly body?: unknown;
}

/** One vCenter request after the flavour prefix was removed. */
export interface VcenterRequest {
  readonly flavor: Flavor;
  readonly method: string;
  /** Path without `/api` or `/rest`, e.g. `/vcenter/vm/vm-1003`. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly authorization: string | undefined;
  readonly sessionId: string | undefined;
}

const SESSION_PATH: Record<Flavor, string> = { api: '/session', rest: '/com/vmware/cis/session' };
const VM_PATH = /^\/vcenter\/vm\/([^/]+)$/;
const IDENTITY_PATH = /^\/vcenter\/vm\/([^/]+)\/guest\/identity$/;

/** Answers one vCenter call, or returns null when no route matches (the server then sends 404). */
export function handleVcenter(state: VcenterState, req: VcenterRequest): VcenterAnswer | null {
  const wrap = (body: unknown): VcenterAnswer => ({ status: 200, body: req.flavor === 'rest' ? { value: body } : body });
  const list = (name: string) => filterValues(req.query, req.flavor, name);

  if (req.path === SESSION_PATH[req.flavor]) {
    if (req.method === 'POST') {
      state.counters.add('session.create');
      if (!basicAuthMatches(req.authorization, state.username, state.password)) {
        throw new SimError(401, 'UNAUTHENTICATED', 'com.vmware.vapi.endpoint.failedToLoginMaxSessionCountReached', 'Authentication required.');
      }
      const id = randomBytes(16).toString('hex');
      state.sessions.add(id);
      return req.flavor === 'api' ? { status: 201, body: id } : wrap(id);
    }
    if (req.method === 'DELETE') {
      state.counters.add('session.delete');
      requireSession(state, req);
      state.sessions.delete(req.sessionId!);
      return { status: req.flavor === 'api' ? 204 : 200 };
    }
    return null;
  }
  if (req.method !== 'GET') return null;

  if (req.path === '/vcenter/vm') {
    state.counters.add('vm.list');
    requireSession(state, req);
    const filter = vmFilter(list);
    for (const id of [...(filter.clusters ?? []), ...(filter.hosts ?? [])]) {
      if (state.faults.failShards.has(id)) throw new SimError(500, 'ERROR', 'vapi.std.errors.error', `Internal error while listing virtual machines on ${id}.`);
    }
    const out: unknown[] = [];
    for (const vm of state.inventory.matchingVms(filter)) {
      if (out.length === state.listLimit) throw tooManyVms();
      out.push(vmSummary(vm));
    }
    return wrap(out);
  }
  const identityMatch = IDENTITY_PATH.exec(req.path);
  if (identityMatch) {
    state.counters.add('vm.guest.identity');
    requireSession(state, req);
    const vm = state.inventory.vms.get(decodeURIComponent(identityMatch[1]!));
    if (!vm) throw vmNotFound(decodeURIComponent(identityMatch[1]!));
    // Tools on a host vCenter cannot reach do not answer either.
    if (state.faults.guestUnavailable || !vm.tools || vm.power !== 'POWERED_ON' || vm.lastSeenPower !== null) throw toolsNotRunning();
    return wrap(guestIdentity(vm));
  }
  const vmMatch = VM_PATH.exec(req.path);
  if (vmMatch) {
    state.counters.add('vm.get');
    requireSession(state, req);
    const vm = state.inventory.vms.get(decodeURIComponent(vmMatch[1]!));
    if (!vm) throw vmNotFound(decodeURIComponent(vmMatch[1]!));
    if (state.faults.failDetails.has(vm.id)) throw new SimError(500, 'ERROR', 'vapi.std.errors.error', `Internal error while reading ${vm.id}.`);
    return wrap(vmDetail(vm, req.flavor));
  }
  if (req.path === '/vcenter/cluster') {
    state.counters.add('cluster.list');
    requireSession(state, req);
    if (state.faults.hostTreeHidden) return wrap([]);
    const ids = setOf(list('clusters'));
    const names = setOf(list('names'));
    return wrap([...state.inventory.clusters.values()].filter((c) => (!ids || ids.has(c.id)) && (!names || names.has(c.name))).map(clusterSummary));
  }
  if (req.path === '/vcenter/host') {
    state.counters.add('host.list');
    requireSession(state, req);
    if (state.faults.hostTreeHidden) return wrap([]);
    const clusters = setOf(list('clusters'));
    const ids = setOf(list('hosts'));
    const names = setOf(list('names'));
    const connection = setOf(list('connection_states'));
    const standalone = list('standalone')[0];
    const hosts = [...state.inventory.hosts.values()].filter(
      (h) =>
        (!clusters || (h.cluster !== null && clusters.has(h.cluster))) &&
        (!ids || ids.has(h.id)) &&
        (!names || names.has(h.name)) &&
        (!connection || connection.has(h.connection)) &&
        (standalone === undefined || (standalone === 'true') === (h.cluster === null)),
    );
    return wrap(hosts.map(hostSummary));
  }
  if (req.path === '/vcenter/folder') {
    state.counters.add('folder.list');
    requireSession(state, req);
    const ids = setOf(list('folders'));
    const names = setOf(list('names'));
    const type = list('type')[0];
    if (type !== undefined && type !== 'VIRTUAL_MACHINE') return wrap([]);
    return wrap([...state.inventory.folders.values()].filter((f) => (!ids || ids.has(f.id)) && (!names || names.has(f.name))).map(folderSummary));
  }
  if (req.path === '/vcenter/resource-pool') {
    state.counters.add('resource_pool.list');
    requireSession(state, req);
    const ids = setOf(list('resource_pools'));
    const names = setOf(list('names'));
    const clusters = setOf(list('clusters'));
    return wrap(
      [...state.inventory.pools.values()]
        .filter((p) => (!ids || ids.has(p.id)) && (!names || names.has(p.name)) && (!clusters || (p.cluster !== null && clusters.has(p.cluster))))
        .map(poolSummary),
    );
  }
  return null;
}

/** Reads a repeatable filter: `clusters=a&clusters=b` on `/api`, `filter.clusters=a` on `/rest`. */
function filterValues(query: URLSearchParams, flavor: Flavor, name: string): string[] {
  return query.getAll(flavor === 'api' ? name : `filter.${name}`);
}

function vmFilter(list: (name: string) => string[]): SimVmFilter {
  return {
    vms: setOf(list('vms')),
    names: setOf(list('names')),
    clusters: setOf(list('clusters')),
    hosts: setOf(list('hosts')),
    folders: setOf(list('folders')),
    resourcePools: setOf(list('resource_pools')),
    powerStates: setOf(list('power_states')),
  };
}

function setOf(values: string[]): Set<string> | undefined {
  return values.length === 0 ? undefined : new Set(values);
}

function requireSession(state: VcenterState, req: VcenterRequest): void {
  if (req.sessionId === undefined || !state.sessions.has(req.sessionId)) throw unauthenticated();
}

function basicAuthMatches(header: string | undefined, username: string, password: string): boolean {
  if (!header?.startsWith('Basic ')) return false;
  const given = Buffer.from(header.slice(6), 'base64');
  const expected = Buffer.from(`${username}:${password}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
