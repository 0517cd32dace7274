// Turns the configured filters into vSphere ids. Names or ids are accepted; a filter value that
// matches nothing is a configuration error, never "an empty inventory" (that would delete VPSes).
import type { VmwareSourceConfig } from '../../config/schema.js';
import type { NamedId, VsphereClient } from './client.js';
import { vsphereError } from './errors.js';

/** Which part of the inventory a listing covers, as vSphere ids. */
export interface ListScope {
  /** Only these clusters (no standalone hosts); undefined means everything. */
  readonly clusters?: readonly NamedId[];
  readonly folders?: readonly string[];
  readonly resourcePools?: readonly string[];
}

/** Resolves `filters.clusters/folders/resourcePools` against this vCenter (a few list calls per pass). */
export async function resolveScope(
  source: string,
  filters: VmwareSourceConfig['filters'],
  client: VsphereClient,
  signal: AbortSignal,
): Promise<ListScope> {
  const scope: { clusters?: NamedId[]; folders?: string[]; resourcePools?: string[] } = {};
  if (filters?.clusters?.length) scope.clusters = match(source, 'filters.clusters', 'cluster', filters.clusters, await client.listClusters(signal));
  if (filters?.folders?.length) scope.folders = match(source, 'filters.folders', 'VM folder', filters.folders, await client.listFolders(signal)).map((f) => f.id);
  if (filters?.resourcePools?.length) {
    scope.resourcePools = match(source, 'filters.resourcePools', 'resource pool', filters.resourcePools, await client.listResourcePools(signal)).map((p) => p.id);
  }
  return scope;
}

function match(source: string, key: string, noun: string, wanted: readonly string[], known: readonly NamedId[]): NamedId[] {
  const found = new Map<string, NamedId>();
  for (const value of wanted) {
    const hits = known.filter((k) => k.id === value || k.name === value);
    if (hits.length === 0) {
      const sample = known.slice(0, 10).map((k) => `${k.name} (${k.id})`).join(', ');
      throw vsphereError(source, 'config', key, `no ${noun} has the name or id "${value}"; known: ${sample || 'none'}`);
    }
    for (const hit of hits) found.set(hit.id, hit);
  }
  return [...found.values()];
}
