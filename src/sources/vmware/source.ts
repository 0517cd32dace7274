// The `vmware` VmSource: one vCenter, listed completely each pass or not at all.
import { setMaxListeners } from 'node:events';
import type { VmwareSourceConfig } from '../../config/schema.js';
import { systemClock, type Clock, type ListOptions, type VmSource } from '../../domain/ports.js';
import type { RejectedItem, UnreportedVm, VmRecord } from '../../domain/types.js';
import type { Logger } from '../../util/logger.js';
import { VsphereClient } from './client.js';
import { DetailCache, type DetailPersistence } from './details.js';
import { vsphereError } from './errors.js';
import { VsphereHttp, type RequestLike } from './http.js';
import { listVmEntries, type ListingStats } from './listing.js';
import { toVmRecord } from './mapping.js';
import { describeIssues, isVmId, rawField, toSummary, vmSummarySchema, type VmSummary } from './schema.js';
import { resolveScope } from './scope.js';
import { VsphereSession } from './session.js';
import { vmsOnUnreachableHosts } from './unreachable.js';

export interface VmwareSourceDeps {
  readonly logger: Logger;
  /** Replaces how each HTTP request is sent (tests, instrumentation). */
  readonly request?: RequestLike;
  readonly clock?: Clock;
  /** Average age after which a cached VM detail is fetched again (default 1 h). */
  readonly detailMaxAgeMs?: number;
  /** Parallel VM-listing calls while sharding (default 4). */
  readonly listConcurrency?: number;
  /** Keeps the VM detail cache across restarts (the state file); without it the cache lives in memory only. */
  readonly detailPersistence?: DetailPersistence;
}

/** Figures of the last listing, for logs, tests and the benchmark. */
export interface VmwarePassStats extends ListingStats {
  readonly vms: number;
  readonly rejected: number;
  /** VMs on hosts vCenter has lost (listed as last seen, so reported as unknown). */
  readonly unreported: number;
  /** Calls spent finding those hosts and their VMs (1 when no host is lost). */
  readonly hostCheckCalls: number;
  readonly detailsFetched: number;
  readonly logins: number;
  readonly durationMs: number;
}

/** A vSphere source with its figures exposed. */
export interface VmwareSource extends VmSource {
  readonly kind: 'vmware';
  listVms(signal: AbortSignal, options?: ListOptions): Promise<{ vms: VmRecord[]; rejected: RejectedItem[]; unreported: UnreportedVm[] }>;
  /** Figures of the last successful listing, or null before the first one. */
  readonly lastPass: VmwarePassStats | null;
}

/** Creates the source; nothing connects until the first `listVms`. Throws on a bad name pattern. */
export function createVmwareSource(config: VmwareSourceConfig, deps: VmwareSourceDeps): VmwareSource {
  const patterns = (config.filters?.namePatterns ?? []).map((p) => {
    try {
      return new RegExp(p);
    } catch (error) {
      throw vsphereError(config.name, 'config', 'filters.namePatterns', `"${p}" is not a valid regular expression: ${(error as Error).message}`);
    }
  });
  const logger = deps.logger.child({ source: config.name, kind: 'vmware' });
  const clock = deps.clock ?? systemClock;
  const basic = Buffer.from(`${config.username}:${config.password}`).toString('base64');
  const http = new VsphereHttp({ source: config.name, url: config.url, tls: config.tls, timeoutMs: config.timeoutMs, secrets: [config.password, basic] }, deps.request);
  const session = new VsphereSession(
    { source: config.name, username: config.username, password: config.password, apiFlavor: config.apiFlavor, timeoutMs: config.timeoutMs },
    http,
    logger,
  );
  const client = new VsphereClient(config.name, session);
  const cache = new DetailCache(
    client,
    { concurrency: config.detailConcurrency, maxAgeMs: deps.detailMaxAgeMs ?? 3_600_000 },
    clock,
    logger,
    deps.detailPersistence ?? null,
  );
  // Last valid record per VM: a VM whose entry turns invalid keeps it, so it is not taken for deleted.
  const lastGood = new Map<string, VmRecord>();
  const tooBigShards = new Set<string>();
  let closed = false;
  let lastPass: VmwarePassStats | null = null;

  type Listing = { vms: VmRecord[]; rejected: RejectedItem[]; unreported: UnreportedVm[] };
  const listVms = async (outer: AbortSignal, options: ListOptions = {}): Promise<Listing> => {
    if (closed) throw vsphereError(config.name, 'config', 'listing VMs', 'the source was closed');
    // A pass-local signal: every in-flight call listens to it, more than Node's default of 10,
    // and the caller's signal should not carry our listeners or our limit.
    const pass = new AbortController();
    setMaxListeners(0, pass.signal);
    const forward = () => pass.abort(outer.reason);
    if (outer.aborted) forward();
    else outer.addEventListener('abort', forward, { once: true });
    try {
      return await listOnce(pass.signal, options.fresh ?? false);
    } finally {
      outer.removeEventListener('abort', forward);
    }
  };

  const listOnce = async (signal: AbortSignal, fresh: boolean): Promise<Listing> => {
    const started = clock.now();
    const scope = await resolveScope(config.name, config.filters, client, signal);
    const settings = { source: config.name, listLimit: config.listLimit, concurrency: deps.listConcurrency ?? 4 };
    // Both or neither: the lost hosts are looked up beside the listing, not after it.
    const either = new AbortController();
    const inner = AbortSignal.any([signal, either.signal]);
    setMaxListeners(0, inner);
    const [{ entries, stats }, lost] = await Promise.all([
      listVmEntries(client, scope, settings, inner, logger, tooBigShards),
      vmsOnUnreachableHosts(client, scope, settings, inner),
    ]).catch((error: unknown) => {
      either.abort();
      throw error;
    });

    const rejected: RejectedItem[] = [];
    const unreported: UnreportedVm[] = [];
    const vms: VmRecord[] = [];
    const summaries: VmSummary[] = [];
    const listed = new Set<string>();
    entries.forEach((entry, index) => {
      const id = rawId(entry);
      if (id !== null) listed.add(id);
      const lostHost = id === null ? undefined : lost.hostOf.get(id);
      if (lostHost !== undefined) {
        // Still listed, so it exists; its power state is what vCenter saw before it lost the host.
        const name = rawName(entry);
        if (name !== null && patterns.length > 0 && !patterns.some((p) => p.test(name))) listed.delete(id!);
        else unreported.push({ vmId: id!, node: lostHost });
        return;
      }
      const parsed = vmSummarySchema.safeParse(entry);
      if (parsed.success) {
        const summary = toSummary(parsed.data);
        if (patterns.length === 0 || patterns.some((p) => p.test(summary.name))) summaries.push(summary);
        else listed.delete(summary.id);
        return;
      }
      const kept = id === null ? undefined : lastGood.get(id);
      if (kept) vms.push(kept);
      rejected.push({
        where: `${config.name}: ${id ?? entryLabel(entry, index)}`,
        problem: `invalid list entry: ${describeIssues(parsed.error)}${kept ? ' (kept its last valid values, so it is not taken for deleted)' : ''}`,
        // The VM exists: unknown this pass, never missing — also in a process that has no last
        // valid values for it (after a restart).
        ...(id !== null ? { vmId: id, source: config.name } : { namesNoVm: true }),
      });
    });

    const outcome = await cache.resolve(summaries, signal, fresh);
    const failed = new Map(outcome.failures.map((f) => [f.id, f]));
    for (const s of summaries) {
      const detail = outcome.details.get(s.id);
      const failure = failed.get(s.id);
      if (failure) {
        rejected.push({
          where: `${config.name}: ${s.id}`,
          problem: failure.stale ? `detail fetch failed, used the cached detail: ${failure.problem}` : `detail fetch failed (retried next pass): ${failure.problem}`,
          // Without a detail the VM is left out of this listing; it exists, so it is unknown, never missing.
          ...(failure.stale ? {} : { vmId: s.id, source: config.name }),
        });
      }
      if (!detail) continue;
      const record = toVmRecord(config.name, s, detail, config.defaultGuestOs ?? null);
      lastGood.set(s.id, record);
      vms.push(record);
    }

    // Only a complete listing may forget VMs.
    cache.retainOnly(listed);
    cache.persist();
    for (const id of lastGood.keys()) if (!listed.has(id)) lastGood.delete(id);
    lastPass = {
      ...stats,
      vms: vms.length,
      rejected: rejected.length,
      unreported: unreported.length,
      hostCheckCalls: lost.calls,
      detailsFetched: outcome.fetched,
      logins: session.logins,
      durationMs: clock.now() - started,
    };
    logger.info(lastPass, 'listed vCenter VMs');
    return { vms, rejected, unreported };
  };

  return {
    name: config.name,
    kind: 'vmware',
    get lastPass() {
      return lastPass;
    },
    listVms,
    async close() {
      if (closed) return;
      closed = true;
      await session.logout();
      await http.close();
    },
  };
}

function rawName(entry: unknown): string | null {
  const name = rawField(entry, 'name');
  return typeof name === 'string' ? name : null;
}

/** An entry without a valid id, for messages: its position, and what its `vm` held if a string (quoted, cut). */
function entryLabel(entry: unknown, index: number): string {
  const vm = rawField(entry, 'vm');
  return typeof vm === 'string' ? `VM list entry #${index} (vm ${JSON.stringify(vm.slice(0, 100))})` : `VM list entry #${index}`;
}

/** The entry's VM id, or null when it has none that is valid (then the entry names no VM). */
function rawId(entry: unknown): string | null {
  const id = rawField(entry, 'vm');
  return isVmId(id) ? id : null;
}
