// A restarted daemon (a new process on the same state file) must not fetch every vSphere VM's
// detail again: the source's detail cache is saved in the state file. Real simulator over HTTPS,
// real state file, the runtime's own wiring (createSource); each "process" is a new store + source.
import { afterEach, describe, expect, test } from 'vitest';
import type { Clock } from '../../../src/domain/ports.js';
import type { VmRecord } from '../../../src/domain/types.js';
import { createSource } from '../../../src/runtime.js';
import { createVmwareSource, type DetailPersistence } from '../../../src/sources/vmware/index.js';
import { StateStore } from '../../../src/store/state-store.js';
import { raw, tempState } from '../../store/helpers.js';
import { captureLogger, noAbort, sourceConfig, startSim, type SimHandle } from './helpers.js';

const HOUR = 3_600_000;
let handle: SimHandle | null = null;
let cleanup: (() => void) | null = null;
const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await handle?.stop();
  cleanup?.();
  handle = null;
  cleanup = null;
});

/** A settable clock shared by every "process" of a test. */
function testClock(start = 1_800_000_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, advance: (ms) => void (now += ms) };
}

async function world(vms = 20) {
  handle = await startSim();
  handle.sim.seed(vms);
  const t = tempState();
  cleanup = t.cleanup;
  return { sim: handle.sim, path: t.path, config: sourceConfig(handle) };
}

/** One daemon process: its own store and source on the state file. */
function startProcess(w: Awaited<ReturnType<typeof world>>, clock: Clock, readonly = false) {
  const store = new StateStore({ path: w.path, readonly });
  store.open();
  const { logger, lines } = captureLogger();
  const source = createSource(w.config, logger, clock, store, readonly);
  let closed = false;
  const stop = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await source.close();
    store.close();
  };
  closers.push(stop);
  return { source, lines, stop };
}

/** Per-VM detail calls the simulator answered so far. */
function detailCalls(w: Awaited<ReturnType<typeof world>>): number {
  return w.sim.counters.get('vm.get');
}

function byId(vms: readonly VmRecord[]): Map<string, VmRecord> {
  return new Map(vms.map((v) => [v.externalId, v]));
}

function savedIds(path: string): string[] {
  return raw(path, (db) => db.prepare("SELECT vm_id FROM vsphere_detail_cache_v1 WHERE source = 'vc1' ORDER BY vm_id").pluck().all() as string[]);
}

/** A world whose first daemon process has listed every VM once (saving their details) and still runs. */
async function listedByAProcess(vms: number) {
  const w = await world(vms);
  const clock = testClock();
  const first = startProcess(w, clock);
  const listing = await first.source.listVms(noAbort());
  return { w, clock, first, listing };
}

/** The same, with that process stopped. */
async function listedByAStoppedProcess(vms: number) {
  const { w, clock, first, listing } = await listedByAProcess(vms);
  await first.stop();
  return { w, clock, listing };
}

describe('vSphere VM details saved in the state file', () => {
  test('a new process on the same state file lists with no per-VM calls and the same records', async () => {
    const { w, clock, listing: before } = await listedByAStoppedProcess(20);
    expect(before.vms).toHaveLength(20);
    expect(detailCalls(w)).toBe(20);
    const identities = w.sim.counters.get('vm.guest.identity');
    expect(identities).toBeGreaterThan(0);

    const second = startProcess(w, clock);
    const after = await second.source.listVms(noAbort());
    expect(detailCalls(w)).toBe(20);
    expect(w.sim.counters.get('vm.guest.identity')).toBe(identities);
    expect(after.rejected).toEqual([]);
    expect(byId(after.vms)).toEqual(byId(before.vms));
    expect(second.lines.some((l) => l.includes('loaded saved VM details') && l.includes('"cached":20'))).toBe(true);
  });

  test('changes made while the daemon was stopped: only new and changed VMs are fetched, deleted ones leave the file', async () => {
    const { w, clock, listing } = await listedByAStoppedProcess(10);
    const [poweredOff, removed] = listing.vms.map((v) => v.externalId);
    w.sim.setPower(poweredOff!, 'POWERED_OFF');
    w.sim.removeVm(removed!);
    const added = w.sim.upsertVm({ name: 'added-while-stopped', cpu: 4, memoryMiB: 8192, disks: [50 * 1024 ** 3] });

    const second = startProcess(w, clock);
    const calls = detailCalls(w);
    const after = byId((await second.source.listVms(noAbort())).vms);
    expect(detailCalls(w) - calls).toBe(2);
    expect(after.get(poweredOff!)?.power).toBe('stopped');
    expect(after.get(added)).toMatchObject({ cpu: 4, ramMb: 8192, diskGb: 50 });
    expect(after.has(removed!)).toBe(false);
    expect(savedIds(w.path)).not.toContain(removed);
    expect(savedIds(w.path)).toContain(added);
  });

  test('details due for a refresh are fetched again after a restart, as without one', async () => {
    const { w, clock } = await listedByAStoppedProcess(10);
    // Refreshes come due between 0.5 and 1.5 × the 1 h default.
    clock.advance(1.5 * HOUR + 1);
    const second = startProcess(w, clock);
    await second.source.listVms(noAbort());
    expect(detailCalls(w)).toBe(20);
  });

  test('a full resync (fresh listing) fetches every detail again and saves what it got', async () => {
    const { w, clock, first } = await listedByAProcess(8);
    const resized = savedIds(w.path)[0]!;
    w.sim.setDisks(resized, [400 * 1024 ** 3]);
    // Hidden from a normal listing: the list entry did not change and the detail is not due.
    expect(byId((await first.source.listVms(noAbort())).vms).get(resized)?.diskGb).not.toBe(400);
    expect(detailCalls(w)).toBe(8);

    expect(byId((await first.source.listVms(noAbort(), { fresh: true })).vms).get(resized)?.diskGb).toBe(400);
    expect(detailCalls(w)).toBe(16);
    await first.stop();
    const second = startProcess(w, clock);
    expect(byId((await second.source.listVms(noAbort())).vms).get(resized)?.diskGb).toBe(400);
    expect(detailCalls(w)).toBe(16);
  });

  test('plan (a read-only view) uses the saved details, fetches what is missing, and writes nothing', async () => {
    const { w, clock, first: writer } = await listedByAProcess(10);
    const added = w.sim.upsertVm({ name: 'new-vm' });

    const plan = startProcess(w, clock, true);
    const { vms } = await plan.source.listVms(noAbort());
    expect(vms).toHaveLength(11);
    expect(detailCalls(w)).toBe(11);
    await plan.stop();
    expect(savedIds(w.path)).not.toContain(added);

    // The daemon fetches it itself and saves it.
    await writer.source.listVms(noAbort());
    expect(detailCalls(w)).toBe(12);
    expect(savedIds(w.path)).toContain(added);
  });

  test('unreadable saved rows are skipped, logged, fetched again and saved right', async () => {
    const { w, clock } = await listedByAStoppedProcess(10);
    const [a, b] = savedIds(w.path);
    raw(w.path, (db) => db.prepare("UPDATE vsphere_detail_cache_v1 SET cpu = 'lots' WHERE vm_id IN (?, ?)").run(a, b));

    const second = startProcess(w, clock);
    const { vms, rejected } = await second.source.listVms(noAbort());
    expect(rejected).toEqual([]);
    expect(vms).toHaveLength(10);
    expect(detailCalls(w)).toBe(12);
    expect(second.lines.some((l) => l.includes('"level":40') && l.includes('2 saved VM detail(s) in the state file were unreadable'))).toBe(true);
    const cpus = raw(w.path, (db) => db.prepare('SELECT DISTINCT typeof(cpu) FROM vsphere_detail_cache_v1').pluck().all());
    expect(cpus).toEqual(['integer']);
  });

  test('a failed save never fails the listing; the next save rewrites the whole cache', async () => {
    const w = await world(6);
    const saves: { upserts: string[]; removed: string[]; replaceAll: boolean }[] = [];
    let failNext = true;
    // The one seam without a wire of its own: a state file that refuses a write for a moment.
    const persistence: DetailPersistence = {
      load: () => ({ details: new Map(), unreadable: 0 }),
      save: (changes) => {
        if (failNext) {
          failNext = false;
          throw new Error('disk I/O error');
        }
        saves.push({ upserts: [...changes.upserts.keys()].sort(), removed: [...changes.removed], replaceAll: changes.replaceAll });
      },
    };
    const { logger, lines } = captureLogger();
    const source = createVmwareSource(w.config, { logger, clock: testClock(), detailPersistence: persistence });
    closers.push(() => source.close());

    expect((await source.listVms(noAbort())).vms).toHaveLength(6);
    expect(lines.some((l) => l.includes('"level":40') && l.includes('could not save VM details') && l.includes('disk I/O error'))).toBe(true);
    const ids = (await source.listVms(noAbort())).vms.map((v) => v.externalId).sort();
    expect(saves).toEqual([{ upserts: ids, removed: [], replaceAll: true }]);
    // Back to saving changes only: nothing changed, nothing written.
    await source.listVms(noAbort());
    expect(saves).toHaveLength(1);
  });
});
