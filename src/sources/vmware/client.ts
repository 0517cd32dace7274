// Typed vCenter endpoints: each call checks the status, removes the flavour envelope and
// validates the payload, so callers only ever see checked data or a VsphereError.
import type { z } from 'zod';
import { vsphereError } from './errors.js';
import type { Flavor } from './flavor.js';
import {
  apiVmDetailSchema, clusterListSchema, describeIssues, folderListSchema, guestIdentitySchema, hostListSchema, hostStateListSchema, poolListSchema,
  restVmDetailSchema, vmListSchema, type VmDetail,
} from './schema.js';
import { httpStatusError, type SessionAnswer, type VsphereSession } from './session.js';

/** A `GET /vcenter/vm` filter, in `/api` parameter names; values within one key are ORed. */
export type VmFilter = Partial<Record<'clusters' | 'hosts' | 'folders' | 'resource_pools' | 'power_states' | 'names' | 'vms', readonly string[]>>;

/** A VM listing: raw entries, or the signal that vCenter refused because too many VMs matched. */
export type VmListResult = { readonly tooMany: false; readonly entries: readonly unknown[] } | { readonly tooMany: true };

const UNREACHABLE_STATES: readonly string[] = ['DISCONNECTED', 'NOT_RESPONDING'];

export interface NamedId {
  readonly id: string;
  readonly name: string;
}

/** vCenter endpoints used by the source. */
export class VsphereClient {
  constructor(
    private readonly source: string,
    private readonly session: VsphereSession,
  ) {}

  /** Clusters (optionally only the given ids). */
  async listClusters(signal: AbortSignal): Promise<NamedId[]> {
    const list = await this.getList('/vcenter/cluster', {}, clusterListSchema, signal);
    return list.map((c) => ({ id: c.cluster, name: c.name }));
  }

  /** Hosts of some clusters, or the standalone hosts (outside every cluster). */
  async listHosts(filter: { clusters?: readonly string[]; standalone?: boolean }, signal: AbortSignal): Promise<NamedId[]> {
    const query: Record<string, readonly string[]> = {};
    if (filter.clusters) query.clusters = filter.clusters;
    if (filter.standalone !== undefined) query.standalone = [String(filter.standalone)];
    const list = await this.getList('/vcenter/host', query, hostListSchema, signal);
    return list.map((h) => ({ id: h.host, name: h.name }));
  }

  /**
   * Hosts vCenter has lost: DISCONNECTED (taken down) or NOT_RESPONDING (no heartbeats). The
   * answer's own `connection_state` is checked too, so a vCenter that ignored the filter cannot
   * make every host look lost. With `clusters`, only their hosts (a listing scoped to clusters
   * has no standalone host either).
   */
  async listUnreachableHosts(clusters: readonly string[] | undefined, signal: AbortSignal): Promise<NamedId[]> {
    const query = { connection_states: UNREACHABLE_STATES, ...(clusters ? { clusters } : {}) };
    const list = await this.getList('/vcenter/host', query, hostStateListSchema, signal);
    return list.filter((h) => UNREACHABLE_STATES.includes(h.connection_state)).map((h) => ({ id: h.host, name: h.name }));
  }

  /** VM folders. */
  async listFolders(signal: AbortSignal): Promise<NamedId[]> {
    const list = await this.getList('/vcenter/folder', { type: ['VIRTUAL_MACHINE'] }, folderListSchema, signal);
    return list.map((f) => ({ id: f.folder, name: f.name }));
  }

  /** Resource pools. */
  async listResourcePools(signal: AbortSignal): Promise<NamedId[]> {
    const list = await this.getList('/vcenter/resource-pool', {}, poolListSchema, signal);
    return list.map((p) => ({ id: p.resource_pool, name: p.name }));
  }

  /** `GET /vcenter/vm` with a filter; `tooMany` when vCenter refuses with `unable_to_allocate_resource`. */
  async listVms(filter: VmFilter, signal: AbortSignal): Promise<VmListResult> {
    const answer = await this.session.call((f) => ({ method: 'GET', path: `${f.prefix}/vcenter/vm`, query: queryOf(f, filter) }), signal);
    if (answer.status === 500 && answer.flavor.errorKind(answer.body)?.kind === 'UNABLE_TO_ALLOCATE_RESOURCE') return { tooMany: true };
    return { tooMany: false, entries: this.payload(answer, vmListSchema) };
  }

  /** The detail of one VM, normalised across flavours. */
  async getVm(vm: string, signal: AbortSignal): Promise<VmDetail> {
    const answer = await this.session.call((f) => ({ method: 'GET', path: `${f.prefix}/vcenter/vm/${encodeURIComponent(vm)}` }), signal);
    if (answer.flavor.name === 'api') {
      const d = this.payload(answer, apiVmDetailSchema);
      return detailOf(d, Object.values(d.disks));
    }
    const d = this.payload(answer, restVmDetailSchema);
    return detailOf(d, d.disks.map((disk) => disk.value));
  }

  /** The guest OS full name as VMware Tools report it, or null when Tools do not answer (503). */
  async getGuestFullName(vm: string, signal: AbortSignal): Promise<string | null> {
    const answer = await this.session.call((f) => ({ method: 'GET', path: `${f.prefix}/vcenter/vm/${encodeURIComponent(vm)}/guest/identity` }), signal);
    if (answer.status === 503) return null;
    return this.payload(answer, guestIdentitySchema).full_name.default_message || null;
  }

  private async getList<T extends z.ZodType>(path: string, filter: Record<string, readonly string[]>, schema: T, signal: AbortSignal): Promise<z.infer<T>> {
    const answer = await this.session.call((f) => ({ method: 'GET', path: `${f.prefix}${path}`, query: queryOf(f, filter) }), signal);
    return this.payload(answer, schema);
  }

  /** Checks the status, unwraps and validates; throws a VsphereError saying which call and what is wrong. */
  private payload<T extends z.ZodType>(answer: SessionAnswer, schema: T): z.infer<T> {
    if (answer.status < 200 || answer.status >= 300) throw httpStatusError(this.source, answer.what, answer, answer.flavor);
    if (answer.body === undefined) {
      throw vsphereError(this.source, 'invalid_response', answer.what, `HTTP ${answer.status} without a JSON body: ${answer.text.slice(0, 80) || '(empty)'}`);
    }
    const unwrapped = answer.flavor.unwrap(answer.body);
    if (!unwrapped.ok) throw vsphereError(this.source, 'invalid_response', answer.what, unwrapped.problem);
    const parsed = schema.safeParse(unwrapped.value);
    if (!parsed.success) throw vsphereError(this.source, 'invalid_response', answer.what, `unexpected answer: ${describeIssues(parsed.error)}`);
    return parsed.data;
  }
}

function queryOf(flavor: Flavor, filter: Record<string, readonly string[] | undefined>): [string, string][] {
  const query: [string, string][] = [];
  for (const [name, values] of Object.entries(filter)) for (const v of values ?? []) query.push([flavor.filterParam(name), v]);
  return query;
}

function detailOf(
  d: { guest_OS?: string | undefined; cpu: { count: number }; memory: { size_MiB: number } },
  disks: readonly { capacity?: number | undefined }[],
): VmDetail {
  return {
    guestOs: d.guest_OS || null,
    cpu: d.cpu.count,
    memoryMiB: d.memory.size_MiB,
    diskBytes: disks.reduce((sum, disk) => sum + (disk.capacity ?? 0), 0),
  };
}
