// One case of the vSphere safety suite: a World (Proxmox simulator, panel simulator, SQLite
// billing) plus a vSphere simulator as a second source `vc1`, one or two real passes after every
// step (the CLI's `once`, in-process, or — daemon mode — a `run` process asked with POST /resync),
// and the safety invariants checked after every pass against a small model:
//
//   1. no wrong delete: a VPS leaves the panel only when its VM was removed from vCenter and at
//      least MISSING_PASSES successful vc1 listings have gone by since;
//   2. no duplicate, and no VPS for a VM that is not (or no longer) in vCenter is ever created;
//   3. frozen VMs are left exactly as they are: a VM on a lost host (NOT_RESPONDING/DISCONNECTED),
//      a VM whose list entry is malformed, every vc1 VPS in a pass where vc1 was unknown, and the
//      Proxmox guests (nothing changes there: a misbehaving vCenter must not disturb them);
//   4. every row's user_id is its VM's billing owner;
//   5. convergence (checked by convergeAndCheck): faults cleared, hosts back, entries fixed, the
//      panel equals the inventory within a few passes, exactly after `once --full`, and a further
//      pass sends nothing.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { PanelRow } from '../../../src/simulators/panel/index.js';
import type { SimPowerState, SimVm } from '../../../src/simulators/vsphere/inventory.js';
import { VsphereSimulator } from '../../../src/simulators/vsphere/server.js';
import { World, type CliResult } from '../../support/world.js';
import { DaemonProc, freePort } from '../harness/daemon.js';
import { BAD_OVERRIDES, GIB, type Op, type Scenario, type VmSpec } from './scenario.js';

/** guards.missingPassesBeforeDelete of the daemon under test. */
export const MISSING_PASSES = 2;
/** The vc1 source's per-request timeout; the `timeout` fault answers past it. */
export const VC_TIMEOUT_MS = 1500;
/** Passes the convergence may take after the faults stop (deletes wait for MISSING_PASSES listings). */
export const CONVERGE_PASSES = 4;
const ADMIN_TOKEN = 'vsphere-chaos-admin-token-0123';
/** The daemon mode's schedule: never during a case (passes are asked for with POST /resync). */
const NEVER = '0 0 1 1 *';
const VC_USER = 'sync@vsphere.local';
const VC_PASSWORD = 'vc-password-123';
// The main site's Proxmox servers plus a table for VMware ones, joined by a custom query (as test/e2e/vmware.test.ts).
const QUERY = `
  SELECT CAST("proxmoxId" AS TEXT) AS vm_id, "userId" AS user_id, "id" AS billing_id, "status" AS status, 'pve1' AS source
    FROM "server" WHERE "proxmoxId" IS NOT NULL
  UNION ALL
  SELECT vm_id, user_id, 'vmw-' || id AS billing_id, status, 'vc1' AS source FROM vmware_server`;
/** Two Proxmox guests beside vCenter: a misbehaving vCenter must never touch them. */
const PVE_VMS = [
  { vmid: 100, name: 'pve-100', user: 3, status: 'running' as const },
  { vmid: 101, name: 'pve-101', user: 4, status: 'stopped' as const },
];
const POWER_STATUS: Record<SimPowerState, 'running' | 'stopped' | 'suspended'> = { POWERED_ON: 'running', POWERED_OFF: 'stopped', SUSPENDED: 'suspended' };

/** What the model knows about one vCenter VM (present or removed). */
interface VcVm {
  readonly id: string;
  readonly name: string;
  readonly user: number;
  readonly billingRow: number;
  suspended: boolean;
  /** Every disk size (GB, as the panel shows it) the VM has had: a disk-only resize reaches the panel when the detail is refreshed. */
  readonly disksSeen: Set<number>;
}

interface RemovedVm {
  readonly vm: VcVm;
  /** Successful vc1 listings since the VM was removed. */
  okListings: number;
}

/** What a finished case reports (for the suite's summary line). */
export interface CaseResult {
  readonly mode: Scenario['mode'];
  readonly ms: number;
  readonly steps: number;
  readonly passes: number;
  /** Passes in which vc1 was unknown (down, a failed shard, …). */
  readonly unknownPasses: number;
  /** Passes with at least one VM on a lost host. */
  readonly lostHostPasses: number;
  /** Passes that rejected a vc1 entry or detail. */
  readonly rejectedPasses: number;
  readonly deletes: number;
  readonly skipped: number;
  readonly convergedAfter: number;
}

/** Panel disk for a VM's disks: GB rounded up, at least 1 (see src/sources/vmware/mapping.ts). */
export function diskGb(disks: readonly number[]): number {
  return Math.max(1, Math.ceil(disks.reduce((a, b) => a + b, 0) / GIB));
}

/** Runs one case; throws an Error carrying the story when an invariant fails. */
export async function runVsphereCase(scenario: Scenario, label: string): Promise<CaseResult> {
  return new VsphereCase(scenario, label).execute();
}

export class VsphereCase {
  private readonly started = Date.now();
  private readonly story: string[] = [];
  private world!: World;
  private vc!: VsphereSimulator;
  /** The `run` process in daemon mode (null in once mode). */
  private daemon: DaemonProc | null = null;
  private httpPort = 0;
  private hosts: string[] = [];
  private clusters: string[] = [];
  /** VMs in vCenter, in creation order (ops pick them by index). */
  private readonly present = new Map<string, VcVm>();
  private readonly removed = new Map<string, RemovedVm>();
  private readonly byName = new Map<string, VcVm>();
  private nextName = 1;
  private expireAfterMs: number | null = null;
  /** Transient faults and the passes they have left. */
  private timed: Array<{ key: string; left: number; what: string; undo: () => void }> = [];
  private passes = 0;
  private unknownPasses = 0;
  private lostHostPasses = 0;
  private rejectedPasses = 0;
  private deletes = 0;
  private skipped = 0;

  constructor(
    private readonly scenario: Scenario,
    private readonly label: string,
  ) {}

  private note(line: string): void {
    this.story.push(`+${String(Date.now() - this.started).padStart(6)} ms  ${line}`);
  }

  async execute(): Promise<CaseResult> {
    this.world = await new World().start();
    try {
      const result = await this.body();
      if (process.env.CHAOS_VERBOSE) console.log(`${this.label}\n${this.story.join('\n')}`);
      return result;
    } catch (err) {
      const daemonLog = this.daemon ? `\n\ndaemon output (last 4 kB):\n${this.daemon.output().slice(-4000)}` : '';
      throw new Error(`${this.label}: ${(err as Error)?.message ?? String(err)}\n\nstory:\n${this.story.join('\n')}${daemonLog}`, { cause: err });
    } finally {
      if (this.daemon?.running) await this.daemon.kill('SIGKILL');
      await this.vc?.stop();
      await this.world.stop();
    }
  }

  private async body(): Promise<CaseResult> {
    await this.setUp();
    for (const [n, spec] of this.scenario.initial.entries()) this.note(`initial ${n + 1}: ${this.addVm(spec)}`);
    await this.pass('initial sync');
    const initial = this.expectationProblems(true);
    if (initial.length > 0) throw new Error(`the initial sync did not put every VM on the panel:\n  ${initial.join('\n  ')}`);

    for (const [n, step] of this.scenario.steps.entries()) {
      this.note(`step ${n + 1}: ${this.apply(step.op)}`);
      for (let p = 0; p < step.passes; p++) await this.pass(`after step ${n + 1}`);
    }
    const convergedAfter = await this.convergeAndCheck();
    return {
      mode: this.scenario.mode,
      ms: Date.now() - this.started,
      steps: this.scenario.steps.length,
      passes: this.passes,
      unknownPasses: this.unknownPasses,
      lostHostPasses: this.lostHostPasses,
      rejectedPasses: this.rejectedPasses,
      deletes: this.deletes,
      skipped: this.skipped,
      convergedAfter,
    };
  }

  private async setUp(): Promise<void> {
    const { world, scenario } = this;
    world.billingSql('CREATE TABLE vmware_server (id INTEGER PRIMARY KEY, vm_id TEXT NOT NULL, user_id INTEGER NOT NULL, status TEXT NOT NULL)');
    for (const p of PVE_VMS) {
      world.addVm({ vmid: p.vmid, name: p.name, status: p.status });
      world.bill(p.vmid, p.user);
    }
    this.vc = new VsphereSimulator({ username: VC_USER, password: VC_PASSWORD, flavors: scenario.flavor === 'rest' ? ['rest'] : ['api', 'rest'], listLimit: scenario.listLimit });
    const { url, caPem } = await this.vc.start();
    this.vc.seed(0, { clusters: 2, hostsPerCluster: 2 });
    this.hosts = [...this.vc.inventory.hosts.keys()];
    this.clusters = [...this.vc.inventory.clusters.keys()];
    writeFileSync(join(world.dir, 'vc-ca.pem'), caPem);
    const [pve] = world.configObject().sources as object[];
    world.writeConfig({
      sources: [
        pve,
        { name: 'vc1', type: 'vmware', url, username: VC_USER, password: VC_PASSWORD, tls: { caFile: join(world.dir, 'vc-ca.pem') }, apiFlavor: 'auto', timeoutMs: VC_TIMEOUT_MS, listLimit: scenario.listLimit },
      ],
      billing: { driver: 'sqlite', url: world.billingPath, query: QUERY },
      // Loose count/fraction limits: every legitimate delete goes through; only the missing-pass rule holds them.
      guards: { missingPassesBeforeDelete: MISSING_PASSES, maxDeletesPerPass: 100, maxDeleteFraction: 1 },
      ...(scenario.mode === 'daemon' ? { schedule: NEVER, http: { listen: `127.0.0.1:${(this.httpPort = await freePort())}`, adminToken: ADMIN_TOKEN } } : {}),
    });
    if (scenario.mode === 'daemon') this.daemon = new DaemonProc(world.configPath, this.httpPort, ADMIN_TOKEN);
    this.note(`${scenario.mode} mode; vCenter /${scenario.flavor}, listLimit ${scenario.listLimit}; hosts ${this.hosts.map((h) => `${h}=${this.hostName(h)}`).join(', ')}; clusters ${this.clusters.join(', ')}`);
  }

  // ------------------------------------------------------------------------------------ ops

  private hostName(id: string): string {
    return this.vc.inventory.hosts.get(id)?.name ?? id;
  }

  private vmLabel(vm: VcVm): string {
    return `${vm.id} (${vm.name})`;
  }

  private pick<T>(items: readonly T[], i: number): T | undefined {
    return items.length === 0 ? undefined : items[i % items.length];
  }

  /**
   * Whether one more VM in `power` fits on `host` without a listing slice reaching the list limit
   * (a host's VMs in one power state are the smallest slice; vCenter's real cap is 4,000 per call,
   * a limit the source reports as an error by design). Counts both the real and the listed power state.
   */
  private fits(host: string, power: SimPowerState, exclude?: string): boolean {
    const cap = this.scenario.listLimit - 1;
    let real = 0;
    let listed = 0;
    for (const vm of this.vc.inventory.vms.values()) {
      if (vm.host !== host || vm.id === exclude) continue;
      if (vm.power === power) real++;
      if ((vm.lastSeenPower ?? vm.power) === power) listed++;
    }
    return real < cap && listed < cap;
  }

  private addVm(spec: VmSpec): string {
    const host = [0, 1, 2, 3].map((k) => this.hosts[(spec.host + k) % this.hosts.length]!).find((h) => this.fits(h, spec.power));
    if (!host) return this.skip('add: every host is full in that power state');
    const name = `vsc-${this.nextName++}`;
    const id = this.vc.upsertVm({ name, host, power: spec.power, cpu: spec.cpu, memoryMiB: spec.memoryMiB, disks: [...spec.disks], tools: spec.tools });
    const status = spec.suspended ? 'suspended' : 'active';
    const billingRow = this.nextName - 1;
    this.world.billingSql(`INSERT INTO vmware_server (id, vm_id, user_id, status) VALUES (${billingRow}, '${id}', ${spec.user}, '${status}')`);
    const vm: VcVm = { id, name, user: spec.user, billingRow, suspended: spec.suspended, disksSeen: new Set([diskGb(spec.disks)]) };
    this.present.set(id, vm);
    this.byName.set(name, vm);
    return `add ${this.vmLabel(vm)} on ${this.hostName(host)}: ${spec.power}, ${spec.cpu} cpu, ${spec.memoryMiB} MiB, ${diskGb(spec.disks)} GB, tools ${spec.tools}, user ${spec.user}${spec.suspended ? ', billing suspended' : ''}`;
  }

  private skip(why: string): string {
    this.skipped++;
    return `(skipped) ${why}`;
  }

  private apply(op: Op): string {
    const { vc } = this;
    const vms = [...this.present.values()];
    const pickVm = (i: number): VcVm | undefined => this.pick(vms, i);
    const sim = (vm: VcVm): SimVm => vc.inventory.vm(vm.id);
    switch (op.kind) {
      case 'add':
        return this.addVm(op.spec);
      case 'remove': {
        const vm = pickVm(op.i);
        if (!vm) return this.skip('remove: no VM');
        const host = this.hostName(sim(vm).host);
        vc.removeVm(vm.id);
        vc.faults.failDetails.delete(vm.id);
        this.present.delete(vm.id);
        this.removed.set(vm.id, { vm, okListings: 0 });
        return `remove ${this.vmLabel(vm)} (was on ${host})`;
      }
      case 'power': {
        const vm = pickVm(op.i);
        if (!vm) return this.skip('power: no VM');
        const s = sim(vm);
        if (!this.fits(s.host, op.state, vm.id)) return this.skip(`power ${vm.id} → ${op.state}: the host's slice is full`);
        const from = s.power;
        vc.setPower(vm.id, op.state);
        return `power ${this.vmLabel(vm)} ${from} → ${op.state}${this.lostNote(s.host)}`;
      }
      case 'resize': {
        const vm = pickVm(op.i);
        if (!vm) return this.skip('resize: no VM');
        const s = sim(vm);
        vc.upsertVm({ id: vm.id, name: vm.name, ...(op.cpu !== null ? { cpu: op.cpu } : {}), ...(op.memoryMiB !== null ? { memoryMiB: op.memoryMiB } : {}), ...(op.disks !== null ? { disks: [...op.disks] } : {}) });
        if (op.disks !== null) vm.disksSeen.add(diskGb(op.disks));
        return `resize ${this.vmLabel(vm)}: cpu ${op.cpu ?? '='} mem ${op.memoryMiB ?? '='} disk ${op.disks !== null ? `${diskGb(op.disks)} GB` : '='}${this.lostNote(s.host)}`;
      }
      case 'move': {
        const vm = pickVm(op.i);
        if (!vm) return this.skip('move: no VM');
        const s = sim(vm);
        const from = s.host;
        let to = this.hosts[op.host % this.hosts.length]!;
        if (to === from) to = this.hosts[(op.host + 1) % this.hosts.length]!;
        if (!this.fits(to, s.power, vm.id)) return this.skip(`move ${vm.id}: ${this.hostName(to)} is full in ${s.power}`);
        vc.upsertVm({ id: vm.id, name: vm.name, host: to });
        return `move ${this.vmLabel(vm)} ${this.hostName(from)}${this.lostNote(from)} → ${this.hostName(to)}${this.lostNote(to)}`;
      }
      case 'hostLost': {
        const host = this.hosts[op.host % this.hosts.length]!;
        const on = [...vc.inventory.vms.values()].filter((v) => v.host === host).map((v) => v.id);
        vc.setHostConnection(host, op.state);
        return `host ${this.hostName(host)} ${op.state} (VMs: ${on.join(', ') || 'none'})`;
      }
      case 'hostBack': {
        const lost = this.hosts.filter((h) => vc.inventory.hosts.get(h)!.connection !== 'CONNECTED');
        const host = this.pick(lost, op.i);
        if (!host) return this.skip('host back: no host is lost');
        vc.setHostConnection(host, 'CONNECTED');
        return `host ${this.hostName(host)} CONNECTED again`;
      }
      case 'failShard': {
        const targets = [...this.clusters, ...this.hosts];
        const target = targets[op.target % targets.length]!;
        const what = `shard ${target}${target.startsWith('host-') ? ` (${this.hostName(target)})` : ''}`;
        vc.failShard(target);
        this.transient(`shard ${target}`, op.passes, `${what} answers again`, () => vc.faults.failShards.delete(target));
        return `${what} fails for ${op.passes} pass(es)`;
      }
      case 'failDetail': {
        const vm = pickVm(op.i);
        if (!vm) return this.skip('fail detail: no VM');
        vc.failDetail(vm.id);
        this.transient(`detail ${vm.id}`, op.passes, `detail of ${vm.id} answers again`, () => vc.faults.failDetails.delete(vm.id));
        return `detail of ${this.vmLabel(vm)} fails for ${op.passes} pass(es)`;
      }
      case 'expireSessions':
        this.expireAfterMs = op.afterMs;
        return `sessions expire ${op.afterMs} ms after the next pass starts`;
      case 'down':
        vc.setDown(true);
        this.transient('down', op.passes, 'vCenter up again', () => vc.setDown(false));
        return `vCenter down for ${op.passes} pass(es)`;
      case 'guestUnavailable':
        vc.setGuestUnavailable(op.on);
        return `guest endpoints ${op.on ? 'unavailable' : 'available'}`;
      case 'slow':
        vc.setSlowMs(op.ms);
        return `vCenter answers after ${op.ms} ms`;
      case 'timeout': {
        const ms = VC_TIMEOUT_MS + 300;
        if (op.how === 'slow') {
          const was = vc.faults.slowMs;
          vc.setSlowMs(ms);
          this.transient('timeout-slow', op.passes, `vCenter answers after ${was} ms again`, () => vc.setSlowMs(was));
        } else {
          vc.setStallBodyMs(ms);
          this.transient('timeout-stall', op.passes, 'vCenter answers whole again', () => vc.setStallBodyMs(0));
        }
        return `vCenter answers ${op.how === 'slow' ? 'after' : 'half, then stalls for'} ${ms} ms (past the ${VC_TIMEOUT_MS} ms timeout) for ${op.passes} pass(es)`;
      }
      case 'badEntry': {
        const vm = pickVm(op.i);
        if (!vm) return this.skip('bad entry: no VM');
        const override = BAD_OVERRIDES[op.override % BAD_OVERRIDES.length]!(vm.id);
        sim(vm).listOverride = override;
        return `list entry of ${this.vmLabel(vm)} malformed: ${JSON.stringify(override)}${this.lostNote(sim(vm).host)}`;
      }
      case 'fixEntry': {
        const vm = this.pick(vms.filter((v) => sim(v).listOverride !== null), op.i);
        if (!vm) return this.skip('fix entry: none is malformed');
        sim(vm).listOverride = null;
        return `list entry of ${this.vmLabel(vm)} fixed`;
      }
      case 'billing': {
        const vm = pickVm(op.i);
        if (!vm) return this.skip('billing: no VM');
        vm.suspended = !vm.suspended;
        this.world.billingSql(`UPDATE vmware_server SET status = '${vm.suspended ? 'suspended' : 'active'}' WHERE id = ${vm.billingRow}`);
        return `billing ${vm.suspended ? 'suspends' : 'reinstates'} ${this.vmLabel(vm)}${this.lostNote(sim(vm).host)}`;
      }
    }
  }

  /** Undoes a fault after `passes` more passes (when the same fault, `key`, was set again meanwhile: after the later one's). */
  private transient(key: string, passes: number, what: string, undo: () => void): void {
    this.timed.push({ key, left: passes, what, undo });
  }

  private lostNote(host: string): string {
    const c = this.vc.inventory.hosts.get(host)?.connection;
    return c && c !== 'CONNECTED' ? ` [host ${c}]` : '';
  }

  // ------------------------------------------------------------------------------------ passes

  /** Runs a pass (`once`, or one of the daemon's) and checks invariants 1-4 on what it did. */
  private async pass(what: string, args: readonly string[] = []): Promise<CliResult> {
    const { vc, world } = this;
    const before = world.panel.table();
    const lostHosts = new Set(this.hosts.filter((h) => vc.inventory.hosts.get(h)!.connection !== 'CONNECTED'));
    // VMs the pass must leave exactly as they are on the panel, and why.
    const frozen = new Map<string, string>();
    for (const s of vc.inventory.vms.values()) {
      if (lostHosts.has(s.host)) frozen.set(s.name, `on ${this.hostName(s.host)}, ${vc.inventory.hosts.get(s.host)!.connection}`);
      else if (s.listOverride !== null) frozen.set(s.name, `its list entry is malformed (${JSON.stringify(s.listOverride)})`);
    }
    const down = vc.faults.down;
    const statsBefore = world.panel.stats().byAction;
    const timer = this.expireAfterMs === null ? null : setTimeout(() => vc.expireSessions(), this.expireAfterMs);
    this.expireAfterMs = null;
    let r: CliResult;
    try {
      r = this.daemon ? await this.daemonPass(args.includes('--full')) : await world.cli('once', ...args);
    } finally {
      if (timer) clearTimeout(timer);
    }
    this.passes++;
    const after = world.panel.table();
    const statsAfter = world.panel.stats().byAction;
    const vcOk = !/source vc1 unknown/.test(r.stdout);
    const rejected = /rejected vc1: /.test(r.stdout);
    if (!vcOk) this.unknownPasses++;
    if (rejected) this.rejectedPasses++;
    if ([...vc.inventory.vms.values()].some((s) => lostHosts.has(s.host))) this.lostHostPasses++;
    if (vcOk) for (const rem of this.removed.values()) rem.okListings++;
    const delta = (a: 'create' | 'update' | 'delete') => (statsAfter[a] ?? 0) - (statsBefore[a] ?? 0);
    this.deletes += delta('delete');
    this.note(
      `  ${this.daemon ? 'resync' : 'once'}${args.length ? ` ${args.join(' ')}` : ''} (${what}): exit ${r.code}, vc1 ${vcOk ? 'listed' : 'UNKNOWN'}${rejected ? ' (rejected entries)' : ''}, ` +
        `+${delta('create')} ~${delta('update')} -${delta('delete')}${frozen.size ? `; frozen: ${[...frozen.keys()].join(', ')}` : ''}`,
    );

    const problems = this.passProblems(before, after, frozen, vcOk, down, args.includes('--full'), r);
    if (problems.length > 0) {
      throw new Error(`invariant broken in pass ${this.passes} (${what}):\n  ${problems.join('\n  ')}\n\nonce said:\n${r.stdout}${r.stderr}\n\npanel before: ${rowsText(before)}\npanel after:  ${rowsText(after)}`);
    }
    for (const t of this.timed) t.left--;
    const still = new Set(this.timed.filter((t) => t.left > 0).map((t) => t.key));
    for (const t of this.timed) {
      if (t.left > 0 || still.has(t.key)) continue;
      still.add(t.key); // undone once
      t.undo();
      this.note(`  ${t.what}`);
    }
    this.timed = this.timed.filter((t) => t.left > 0);
    return r;
  }

  private passProblems(before: PanelRow[], after: PanelRow[], frozen: ReadonlyMap<string, string>, vcOk: boolean, down: boolean, full: boolean, r: CliResult): string[] {
    const problems: string[] = [];
    if (r.code !== 0 && r.code !== 1) problems.push(`once exited ${r.code} (want 0 or 1): ${r.stderr.trim()}`);
    if (down && vcOk) problems.push('vCenter was down, yet the pass did not report vc1 unknown');
    const beforeById = new Map(before.map((row) => [row.id, row]));
    const afterById = new Map(after.map((row) => [row.id, row]));
    const pve = new Map(PVE_VMS.map((p) => [p.name, p]));

    // 1. No wrong delete.
    for (const row of before) {
      if (afterById.has(row.id)) continue;
      const vm = this.byName.get(row.name);
      if (pve.has(row.name)) problems.push(`[1 wrong delete] Proxmox VPS #${row.id} ${row.name} was deleted`);
      else if (!vm) problems.push(`[1 wrong delete] VPS #${row.id} ${row.name} of no known VM was deleted`);
      else if (this.present.has(vm.id)) problems.push(`[1 wrong delete] VPS #${row.id} of ${this.vmLabel(vm)} was deleted while the VM exists (on ${this.hostName(this.vc.inventory.vm(vm.id).host)})`);
      else {
        const n = this.removed.get(vm.id)!.okListings;
        if (n < MISSING_PASSES) problems.push(`[1 wrong delete] VPS #${row.id} of removed ${this.vmLabel(vm)} was deleted after ${n} successful listing(s) without it (need ${MISSING_PASSES})`);
      }
    }

    // 2. No duplicate; nothing created for a VM that is not in vCenter.
    const count = new Map<string, number>();
    for (const row of after) count.set(row.name, (count.get(row.name) ?? 0) + 1);
    for (const [name, n] of count) if (n > 1) problems.push(`[2 duplicate] ${n} VPSes named ${name}: ${after.filter((x) => x.name === name).map((x) => `#${x.id}`).join(', ')}`);
    for (const row of after) {
      if (beforeById.has(row.id)) continue;
      const vm = this.byName.get(row.name);
      if (pve.has(row.name)) continue; // a second one is a duplicate (above), a replaced one a wrong delete (1)
      if (!vm) problems.push(`[2 unknown] VPS #${row.id} ${row.name} created for no known VM`);
      else if (!this.present.has(vm.id)) problems.push(`[2 removed] VPS #${row.id} created for ${this.vmLabel(vm)}, which was removed from vCenter`);
    }

    // 3. Frozen VMs (and every vc1 VPS when vc1 was unknown) are left exactly as they are.
    const beforeByName = groupByName(before);
    const afterByName = groupByName(after);
    const frozenNow = new Map(frozen);
    // Nothing happens on Proxmox: whatever vCenter does, its VPSes stay as they are (a full resync
    // re-sends them unchanged, which only touches updated_at).
    for (const p of PVE_VMS) if (beforeByName.has(p.name)) frozenNow.set(p.name, 'a Proxmox guest nothing changed');
    const shown = (name: string, rows: readonly PanelRow[] | undefined): string =>
      JSON.stringify((rows ?? []).map((row) => (full && pve.has(name) ? { ...row, updated_at: '(full resync)' } : row)));
    if (!vcOk) {
      for (const name of new Set([...beforeByName.keys(), ...afterByName.keys()])) {
        if (!pve.has(name) && !frozenNow.has(name)) frozenNow.set(name, 'vc1 was unknown this pass');
      }
    }
    for (const [name, why] of frozenNow) {
      const b = shown(name, beforeByName.get(name));
      const a = shown(name, afterByName.get(name));
      if (a !== b) problems.push(`[3 frozen changed] ${name} (${why}) changed on the panel: ${b} → ${a}`);
    }

    // 4. Every row's owner is its VM's billing owner (and its hypervisor is right).
    for (const row of after) {
      const p = pve.get(row.name);
      const vm = this.byName.get(row.name);
      const want = p ? { user: p.user, hv: 'proxmox' } : vm ? { user: vm.user, hv: 'vmware' } : null;
      if (want && (row.user_id !== want.user || row.hypervisor !== want.hv)) {
        problems.push(`[4 wrong owner] VPS #${row.id} ${row.name}: user ${row.user_id} ${row.hypervisor}, billing says user ${want.user} ${want.hv}`);
      }
    }
    return problems;
  }

  // ------------------------------------------------------------------------------------ convergence

  /** Invariant 5: clears every fault and checks the panel converges to the inventory. */
  private async convergeAndCheck(): Promise<number> {
    const { vc } = this;
    vc.clearFaults();
    this.timed = [];
    for (const h of this.hosts) if (vc.inventory.hosts.get(h)!.connection !== 'CONNECTED') vc.setHostConnection(h, 'CONNECTED');
    for (const s of vc.inventory.vms.values()) s.listOverride = null;
    this.expireAfterMs = null;
    this.note('faults cleared, hosts reconnected, entries fixed');

    let convergedAfter = 0;
    let problems: string[] = [];
    for (let k = 1; k <= CONVERGE_PASSES; k++) {
      const r = await this.pass(`converging ${k}`);
      problems = this.expectationProblems(false);
      if (problems.length === 0 && r.code === 0) {
        convergedAfter = k;
        break;
      }
    }
    if (convergedAfter === 0) throw new Error(`[5 convergence] the panel is still wrong after ${CONVERGE_PASSES} clean passes:\n  ${problems.join('\n  ')}`);

    // A disk-only resize reaches the panel when the saved detail is refreshed (0.5-1.5 h) or with --full.
    const full = await this.pass('full resync', ['--full']);
    const exact = this.expectationProblems(true);
    if (full.code !== 0 || exact.length > 0) throw new Error(`[5 convergence] after once --full (exit ${full.code}) the panel is not exact:\n  ${exact.join('\n  ')}`);

    const total = this.world.panel.stats().total;
    const quiet = await this.pass('steady');
    const sent = this.world.panel.stats().total - total;
    if (quiet.code !== 0 || sent !== 0) throw new Error(`[5 convergence] a pass after convergence exited ${quiet.code} and sent ${sent} request(s):\n${quiet.stdout}`);
    if (this.daemon) {
      const exit = await this.daemon.kill('SIGTERM');
      if (exit.code !== 0) throw new Error(`the daemon exited ${exit.code ?? exit.signal} on SIGTERM (want 0):\n${this.daemon.output().slice(-3000)}`);
    }
    return convergedAfter;
  }

  /**
   * One pass of the `run` process (its start-up pass the first time, then one per POST /resync),
   * told as `once` would tell it: exit 0 for a successful pass, its problems one per line.
   */
  private async daemonPass(full: boolean): Promise<CliResult> {
    const daemon = this.daemon!;
    const last = this.passRows(0).at(-1)?.id ?? 0;
    if (!daemon.running) {
      if (full) throw new Error('a full pass was asked for before the daemon started');
      await daemon.start(); // `run` makes a pass at once
    } else {
      const res = await fetch(`http://127.0.0.1:${this.httpPort}/resync${full ? '?full=1' : ''}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        signal: AbortSignal.timeout(5000),
      });
      const body = await res.text();
      if (res.status !== 202) throw new Error(`POST /resync answered ${res.status}: ${body}`);
    }
    const deadline = Date.now() + 20_000;
    let done = this.passRows(last);
    while (done.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      done = this.passRows(last);
    }
    if (daemon.unexpectedExits.length > 0) throw new Error(`${daemon.unexpectedExits.join('; ')}:\n${daemon.output().slice(-3000)}`);
    if (done.length !== 1) throw new Error(`the daemon finished ${done.length} passes after #${last}, want exactly the one asked for:\n${daemon.output().slice(-3000)}`);
    const { id, result, problems } = done[0]!;
    return { code: result === 'success' ? 0 : 1, stdout: `pass ${id} ${result}\n${problems.map((p) => `  ${p}\n`).join('')}`, stderr: '' };
  }

  /** Finished passes after `afterId` in the daemon's state file (read-only, beside the writer: WAL). */
  private passRows(afterId: number): Array<{ id: number; result: string; problems: string[] }> {
    if (!existsSync(this.world.statePath)) return [];
    const db = new Database(this.world.statePath, { readonly: true, fileMustExist: true, timeout: 2000 });
    try {
      const rows = db.prepare('SELECT id, result, summary_json FROM passes WHERE id > ? AND finished_at IS NOT NULL ORDER BY id').all(afterId) as Array<{ id: number; result: string; summary_json: string | null }>;
      return rows.map((r) => ({ id: r.id, result: r.result, problems: r.summary_json ? ((JSON.parse(r.summary_json) as { problems?: string[] }).problems ?? []) : [] }));
    } catch (err) {
      // The very first read may race the daemon's migration: no table yet.
      if (/no such table/.test((err as Error).message)) return [];
      throw err;
    } finally {
      db.close();
    }
  }

  /**
   * What is wrong with the panel against a fresh expectation from the simulator's inventory (hosts
   * connected, no faults): one row per VM with the README's mapping, plus the Proxmox guests, nothing
   * else. `exact` also checks the disk (else any size the VM had is accepted) and the OS.
   */
  private expectationProblems(exact: boolean): string[] {
    const problems: string[] = [];
    const table = this.world.panel.table();
    const rows = groupByName(table);
    const expectedNames = new Set<string>();
    for (const p of PVE_VMS) {
      expectedNames.add(p.name);
      const got = rows.get(p.name) ?? [];
      if (got.length !== 1) problems.push(`${p.name}: ${got.length} rows`);
      else if (got[0]!.user_id !== p.user || got[0]!.status !== p.status || got[0]!.hypervisor !== 'proxmox') problems.push(`${p.name}: ${rowText(got[0]!)}`);
    }
    for (const s of this.vc.inventory.vms.values()) {
      const vm = this.present.get(s.id)!;
      expectedNames.add(vm.name);
      const got = rows.get(vm.name) ?? [];
      if (got.length !== 1) {
        problems.push(`${this.vmLabel(vm)}: ${got.length} rows, want 1`);
        continue;
      }
      const row = got[0]!;
      const want = {
        user_id: vm.user,
        cpu: s.cpu,
        ram: s.memoryMiB,
        status: vm.suspended ? 'suspended' : POWER_STATUS[s.power],
        hypervisor: 'vmware',
        ...(exact ? { disk: diskGb(s.disks) } : {}),
      };
      const wrong = Object.entries(want).filter(([k, v]) => row[k as keyof PanelRow] !== v);
      if (wrong.length > 0) problems.push(`${this.vmLabel(vm)}: ${wrong.map(([k, v]) => `${k} ${String(row[k as keyof PanelRow])}, want ${String(v)}`).join('; ')}`);
      if (!exact && !vm.disksSeen.has(row.disk)) problems.push(`${this.vmLabel(vm)}: disk ${row.disk}, a size the VM never had (${[...vm.disksSeen].join('/')})`);
      if (exact) {
        // Tools' full name when they answer (powered on, running); else the one saved earlier or the guest id.
        const osOk = s.power === 'POWERED_ON' && s.tools ? row.os === s.guestFullName : row.os === s.guestFullName || row.os === s.guestOs;
        if (!osOk) problems.push(`${this.vmLabel(vm)}: os "${row.os}" (${s.power}, tools ${s.tools})`);
      }
    }
    for (const row of table) if (!expectedNames.has(row.name)) problems.push(`unexpected VPS ${rowText(row)}${this.byName.has(row.name) ? ' (its VM was removed)' : ''}`);
    return problems;
  }
}

function groupByName(rows: readonly PanelRow[]): Map<string, PanelRow[]> {
  const out = new Map<string, PanelRow[]>();
  for (const row of rows) {
    const list = out.get(row.name);
    if (list) list.push(row);
    else out.set(row.name, [row]);
  }
  return out;
}

function rowText(row: PanelRow): string {
  return `#${row.id} ${row.name} u${row.user_id} ${row.cpu}c/${row.ram}M/${row.disk}G ${row.status} ${row.hypervisor}`;
}

function rowsText(rows: readonly PanelRow[]): string {
  return rows.map(rowText).join(', ');
}
