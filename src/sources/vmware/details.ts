// Per-VM details (disks, guest OS) cost one or two calls per VM, so they are fetched only for
// VMs that are new, whose list entry changed, or whose cached detail is old. They are kept in
// memory and, through DetailPersistence, in the state file: a restarted daemon would otherwise
// fetch every VM's detail again (10,000 VMs: ~18,000 calls; at 20-50 ms a call, 8 at a time, 45-110 s
// against a real vCenter).
// The persisted copy is only a cache: when it cannot be read or written the source logs it and
// fetches, it never fails a listing for it.
import type { Clock } from '../../domain/ports.js';
import type { Logger } from '../../util/logger.js';
import type { VsphereClient } from './client.js';
import { mapLimit } from './concurrency.js';
import { VsphereError } from './errors.js';
import type { VmSummary } from './schema.js';

const PASS_WIDE = new Set(['aborted', 'auth', 'connect', 'tls']);

/** What the source remembers about one VM between passes. */
export interface CachedDetail {
  /** The list entry the detail was fetched for; a different entry means "changed, fetch again". */
  readonly listKey: string;
  /** After this time (clock ms) the detail is fetched again, to notice disk resizes and Tools changes. */
  readonly refreshAt: number;
  readonly cpu: number;
  readonly memoryMiB: number;
  readonly diskBytes: number;
  /** vSphere guest id (`UBUNTU_64`). */
  readonly guestOs: string | null;
  /** Full name from VMware Tools, kept while Tools are silent (powered off) so the OS does not flap. */
  readonly guestFullName: string | null;
}

/** Details changed by one listing, for DetailPersistence.save. */
export interface DetailChanges {
  readonly upserts: ReadonlyMap<string, CachedDetail>;
  readonly removed: Iterable<string>;
  /** Replace everything saved for the source with `upserts` (a previous save failed). */
  readonly replaceAll: boolean;
}

/** Where a source's details outlive its process (the state file's detail cache). */
export interface DetailPersistence {
  /** The saved details; `unreadable` rows were skipped (those VMs are fetched again). */
  load(): { details: Map<string, CachedDetail>; unreadable: number };
  /** Absent in read-only views (`plan`): they use the saved details but leave them as they are. */
  save?(changes: DetailChanges): void;
}

export interface DetailSettings {
  readonly concurrency: number;
  /** Average age after which a detail is refreshed even if the list entry did not change. */
  readonly maxAgeMs: number;
}

/** The outcome for the VMs of one pass. */
export interface DetailOutcome {
  /** A usable detail per VM id (fresh, cached, or cached-after-a-failed-fetch). */
  readonly details: Map<string, CachedDetail>;
  /** VMs whose fetch failed: `stale` when the cached detail was used instead. */
  readonly failures: { id: string; problem: string; stale: boolean }[];
  readonly fetched: number;
}

/** The detail cache of one source: in memory, saved through an optional DetailPersistence. */
export class DetailCache {
  private entries = new Map<string, CachedDetail>();
  private loaded = false;
  /** Fetched since the last save. */
  private readonly unsaved = new Map<string, CachedDetail>();
  /** Forgotten since the last save. */
  private readonly forgotten = new Set<string>();
  /** A save failed: what is saved is unknown, so the next save rewrites the source's whole cache. */
  private rewrite = false;

  constructor(
    private readonly client: VsphereClient,
    private readonly settings: DetailSettings,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly persistence: DetailPersistence | null = null,
  ) {}

  /** Details for the listed VMs, fetching only what is missing, changed or due (or all of them when `fresh`). */
  async resolve(summaries: readonly VmSummary[], signal: AbortSignal, fresh = false): Promise<DetailOutcome> {
    this.loadOnce();
    const now = this.clock.now();
    const details = new Map<string, CachedDetail>();
    const due: VmSummary[] = [];
    for (const s of summaries) {
      const cached = this.entries.get(s.id);
      if (!fresh && cached && cached.listKey === listKey(s) && stillFresh(cached.refreshAt, now, this.settings.maxAgeMs)) details.set(s.id, cached);
      else due.push(s);
    }
    const failures: DetailOutcome['failures'] = [];
    await mapLimit(due, this.settings.concurrency, async (s) => {
      const cached = this.entries.get(s.id);
      try {
        const detail = await this.fetch(s, cached, signal);
        this.entries.set(s.id, detail);
        this.unsaved.set(s.id, detail);
        details.set(s.id, detail);
      } catch (error) {
        // Cancelled pass, lost vCenter, or lost session: nothing per-VM about it, the listing fails.
        if (signal.aborted || (error instanceof VsphereError && PASS_WIDE.has(error.reason))) throw error;
        const problem = (error as Error).message;
        // A VM with a cached detail keeps it (the entry is not updated, so it is retried next pass);
        // one without is left out of the listing and reported as unknown (the source marks it, so
        // the engine neither creates nor deletes it: it may be on the panel already).
        if (cached) details.set(s.id, cached);
        failures.push({ id: s.id, problem, stale: cached !== undefined });
      }
    });
    return { details, failures, fetched: due.length };
  }

  /** Forgets VMs that are no longer listed (call only after a complete listing). */
  retainOnly(ids: ReadonlySet<string>): void {
    for (const id of this.entries.keys()) {
      if (ids.has(id)) continue;
      this.entries.delete(id);
      this.unsaved.delete(id);
      this.forgotten.add(id);
    }
  }

  /** Saves what changed since the last save; a failure is logged, never thrown (it only costs calls after a restart). */
  persist(): void {
    const persistence = this.persistence;
    if (!persistence?.save || (!this.rewrite && this.unsaved.size === 0 && this.forgotten.size === 0)) return;
    try {
      persistence.save({ upserts: this.rewrite ? this.entries : this.unsaved, removed: this.forgotten, replaceAll: this.rewrite });
      this.rewrite = false;
    } catch (error) {
      this.rewrite = true;
      this.logger.warn({ err: (error as Error).message }, 'could not save VM details to the state file; they stay cached in memory (a restart would fetch them again)');
    }
    this.unsaved.clear();
    this.forgotten.clear();
  }

  /** Takes over the saved details on first use (constructors do no I/O). */
  private loadOnce(): void {
    if (this.loaded || !this.persistence) return;
    this.loaded = true;
    try {
      const { details, unreadable } = this.persistence.load();
      this.entries = details;
      if (unreadable > 0) this.logger.warn({ unreadable }, `${unreadable} saved VM detail(s) in the state file were unreadable; those VMs' details are fetched again`);
      this.logger.info({ cached: details.size }, 'loaded saved VM details from the state file');
    } catch (error) {
      // Also: nothing saved can be trusted to match, so the first save rewrites it all.
      this.rewrite = true;
      this.logger.warn({ err: (error as Error).message }, 'could not read saved VM details from the state file; fetching every VM detail');
    }
  }

  private async fetch(s: VmSummary, cached: CachedDetail | undefined, signal: AbortSignal): Promise<CachedDetail> {
    const detail = await this.client.getVm(s.id, signal);
    // Tools only answer in a running guest; asking a powered-off VM is a guaranteed 503.
    const fullName = s.power === 'POWERED_ON' ? await this.client.getGuestFullName(s.id, signal) : null;
    if (s.power === 'POWERED_ON' && fullName === null) this.logger.debug({ vm: s.id }, 'VMware Tools not running; guest OS from config or guest id');
    return {
      listKey: listKey(s),
      refreshAt: Math.round(this.clock.now() + this.settings.maxAgeMs * (0.5 + spread(s.id))),
      cpu: detail.cpu,
      memoryMiB: detail.memoryMiB,
      diskBytes: detail.diskBytes,
      guestOs: detail.guestOs,
      guestFullName: fullName ?? cached?.guestFullName ?? null,
    };
  }
}

/** The fields of a list entry whose change means the detail must be fetched again. */
function listKey(s: VmSummary): string {
  return `${s.name}\u0000${s.power}\u0000${s.cpu ?? '-'}\u0000${s.memoryMiB ?? '-'}`;
}

/**
 * A detail is kept until its refresh time, which is at most 1.5 × maxAge after its fetch: one due
 * later than that was fetched before the wall clock was set back, and is refreshed now rather than
 * as much later as the clock jumped (the times are kept in the state file across restarts).
 */
function stillFresh(refreshAt: number, now: number, maxAgeMs: number): boolean {
  return refreshAt > now && refreshAt - now <= maxAgeMs * 1.5;
}

/** A stable number in [0, 1) per VM, so refreshes spread over time instead of all coming due together. */
function spread(id: string): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return (h >>> 0) / 4294967296;
}
