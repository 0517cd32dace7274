// One chaos case: a world (Proxmox simulator, panel simulator, billing database), the real daemon
// as a child process, a random sequence of changes, faults and kills, then the faults stop and
// the properties are checked while the daemon converges.
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { FaultSpec as PanelFaultSpec, PanelRow } from '../../../src/simulators/panel/index.js';
import { BAD_ENTRY_CASES, type FaultSpecInput as PveFaultSpec } from '../../../src/simulators/proxmox/index.js';
import { World } from '../../support/world.js';
import { billingFaultProblems } from './billing-checks.js';
import { BILLING_TIMEOUT_MS, billingOutageArb, billRowFaultArb, runBillingOutage, runBillRowFault, type BillingOutageOp, type BillRowFaultOp, type FaultDriver } from './billing-faults.js';
import { historyProblems, tableProblems } from './checks.js';
import { DaemonProc, freePort } from './daemon.js';
import { Model, parseVmName, type VmSpec } from './model.js';
import { StateProbe } from './state-probe.js';

/** Per-request deadlines of the daemon under test; the slow faults answer past them. */
export const PANEL_TIMEOUT_MS = 1000;
export const PVE_TIMEOUT_MS = 1200;
/**
 * The delete guards are the defaults (written out so a change of default shows up here).
 * Deletes therefore need 3 consecutive successful listings without the VM, and when more are due
 * at once than max(1, 10 %) of a source's VPSes, all of them wait for an operator's force.
 */
export const GUARDS = { missingPassesBeforeDelete: 3, maxDeletesPerPass: 20, maxDeleteFraction: 0.1 } as const;
/**
 * Backoff and breaker are the real mechanisms with short timers: the defaults (30 s base delay,
 * 60 s cooldown) would make "faults stop" mean "wait a minute". The breaker still opens after 5
 * failures and still probes with one request when its cooldown is over.
 */
export const RETRY = { baseDelayMs: 50, maxDelayMs: 200, breakerThreshold: 5, breakerCooldownMs: 200 } as const;
const ADMIN_TOKEN = 'chaos-admin-token-0123456789';
/** VMIDs of the simulator's malformed entries (badEntries fault); they are billed, so accepting one would push it. */
const BAD_ENTRY_VMIDS = BAD_ENTRY_CASES.map((_, i) => 990001 + i);

export type Op =
  | { readonly kind: 'add'; readonly spec: VmSpec }
  | { readonly kind: 'remove' | 'hide' | 'restore' | 'power' | 'suspend'; readonly i: number }
  | { readonly kind: 'reuse'; readonly i: number; readonly spec: VmSpec & { user: number } }
  | { readonly kind: 'resize'; readonly i: number; readonly cpu: number; readonly memMiB: number; readonly diskGiB: number }
  | { readonly kind: 'owner'; readonly i: number; readonly user: number; readonly osId: 1 | 2 }
  | { readonly kind: 'panelFault'; readonly fault: PanelFaultSpec }
  | { readonly kind: 'panelDown'; readonly ms: number }
  | { readonly kind: 'pveFault'; readonly fault: PveFaultSpec }
  /** Proxmox node pve-b goes offline for `ms`: its guests are listed without a state meanwhile. */
  | { readonly kind: 'nodeOffline'; readonly ms: number }
  | { readonly kind: 'kill'; readonly signal: 'SIGKILL' | 'SIGTERM'; readonly poke: boolean; readonly delayMs: number; readonly restartAfterMs: number }
  | { readonly kind: 'passes'; readonly n: number }
  /**
   * A change whose panel call fails in `fault`'s way, undone right after that call: a VM leaves the
   * listing until its delete is sent, then comes back unchanged (restore, migration back); or a VM
   * is stopped/started until the update is sent, then turned back.
   */
  | { readonly kind: 'undoAfterCall'; readonly call: 'delete' | 'update'; readonly i: number; readonly fault: PanelFaultSpec }
  /** Billing unreadable for a few passes (billing-faults.ts). */
  | BillingOutageOp
  /** One VM's billing row rejected, left out or contradicted for a few passes (billing-faults.ts). */
  | BillRowFaultOp
  /** Makes a call of `action` happen (a new VM, a power change, an owner change), holds its answer, and SIGKILLs the daemon while it is in flight. */
  | { readonly kind: 'killMidCall'; readonly action: 'create' | 'update' | 'delete'; readonly commit: 'before' | 'after'; readonly i: number; readonly spec: VmSpec & { user: number }; readonly delayMs: number; readonly restartAfterMs: number };

export interface Step {
  readonly op: Op;
  /** Pause after the step, while the daemon's schedule keeps running passes. */
  readonly waitMs: number;
}

export interface Scenario {
  readonly initial: readonly VmSpec[];
  /** How the panel answers update/delete of an id it does not have (PANEL_API.md: either). */
  readonly unknownId: '404' | '200';
  readonly steps: readonly Step[];
}

// ---------------------------------------------------------------------------- arbitraries

const userArb = fc.integer({ min: 1, max: 6 });
const osArb = fc.constantFrom<1 | 2>(1, 2);
const indexArb = fc.nat(1000);

export const vmSpecArb: fc.Arbitrary<VmSpec> = fc.record({
  user: fc.oneof({ weight: 6, arbitrary: userArb }, { weight: 1, arbitrary: fc.constant(null) }),
  osId: osArb,
  cpu: fc.integer({ min: 1, max: 16 }),
  memMiB: fc.constantFrom(512, 1024, 2048, 4096, 8192, 16384),
  diskGiB: fc.integer({ min: 1, max: 500 }),
  diskExtraByte: fc.boolean(),
  running: fc.boolean(),
  template: fc.integer({ min: 0, max: 11 }).map((n) => n === 0),
});

const panelModeArb = fc.oneof(
  fc.constantFrom(500, 502, 503, 504).map((code) => ({ mode: 'status5xx' as const, code })),
  fc.constant({ mode: 'commitThenFail' as const }),
  fc.constant({ mode: 'resetBeforeCommit' as const }),
  fc.constant({ mode: 'resetAfterCommit' as const }),
  fc.constantFrom<'before' | 'after'>('before', 'after').map((commit) => ({ mode: 'slowMs' as const, ms: PANEL_TIMEOUT_MS + 300, commit })),
  fc.constant({ mode: 'nonJson' as const }),
);

const panelFaultArb: fc.Arbitrary<PanelFaultSpec> = fc
  .record({
    mode: panelModeArb,
    trigger: fc.oneof(fc.integer({ min: 1, max: 3 }).map((times) => ({ times })), fc.constantFrom(0.25, 0.5).map((probability) => ({ probability }))),
    action: fc.constantFrom<'create' | 'update' | 'delete' | null>(null, 'create', 'update', 'delete'),
  })
  .map(({ mode, trigger, action }) => ({ ...mode, ...trigger, ...(action ? { action } : {}) }) as PanelFaultSpec);

const pveFaultArb: fc.Arbitrary<PveFaultSpec> = fc.oneof(
  fc.integer({ min: 300, max: 1500 }).map((durationMs): PveFaultSpec => ({ kind: 'down', mode: 'refuse', durationMs })),
  fc.integer({ min: 1, max: 2 }).map((times): PveFaultSpec => ({ kind: 'down', mode: 'reset', times })),
  fc.integer({ min: 1, max: 2 }).map((times): PveFaultSpec => ({ kind: 'status500', times })),
  fc.integer({ min: 1, max: 2 }).map((times): PveFaultSpec => ({ kind: 'badJson', times })),
  fc.constant<PveFaultSpec>({ kind: 'truncated', times: 1 }),
  fc.constantFrom<'headers' | 'body'>('headers', 'body').map((phase): PveFaultSpec => ({ kind: 'slowMs', ms: PVE_TIMEOUT_MS + 400, phase, times: 1 })),
  fc.constant<PveFaultSpec>({ kind: 'wrongContentType', contentType: 'text/html', times: 1 }),
  fc.integer({ min: 1, max: 2 }).map((times): PveFaultSpec => ({ kind: 'emptyList', times })),
  fc.record({ fraction: fc.constantFrom(0, 0.3, 0.6, 0.9), times: fc.integer({ min: 1, max: 2 }) }).map((r): PveFaultSpec => ({ kind: 'partialList', ...r })),
  fc.integer({ min: 1, max: 3 }).map((times): PveFaultSpec => ({ kind: 'badEntries', times })),
);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: vmSpecArb.map((spec): Op => ({ kind: 'add', spec })) },
  { weight: 2, arbitrary: indexArb.map((i): Op => ({ kind: 'remove', i })) },
  { weight: 2, arbitrary: indexArb.map((i): Op => ({ kind: 'hide', i })) },
  { weight: 2, arbitrary: indexArb.map((i): Op => ({ kind: 'restore', i })) },
  // A reused VMID is always billed: a VM whose billing row vanishes keeps its VPS by design (README, "Plan"), which is its own case.
  { weight: 2, arbitrary: fc.record({ i: indexArb, spec: vmSpecArb, user: userArb }).map(({ i, spec, user }): Op => ({ kind: 'reuse', i, spec: { ...spec, user } })) },
  { weight: 2, arbitrary: indexArb.map((i): Op => ({ kind: 'power', i })) },
  {
    weight: 2,
    arbitrary: fc
      .record({ i: indexArb, cpu: fc.integer({ min: 1, max: 16 }), memMiB: fc.constantFrom(1024, 3072, 8192), diskGiB: fc.integer({ min: 1, max: 800 }) })
      .map((r): Op => ({ kind: 'resize', ...r })),
  },
  { weight: 3, arbitrary: fc.record({ i: indexArb, user: userArb, osId: osArb }).map((r): Op => ({ kind: 'owner', ...r })) },
  { weight: 1, arbitrary: indexArb.map((i): Op => ({ kind: 'suspend', i })) },
  { weight: 7, arbitrary: panelFaultArb.map((fault): Op => ({ kind: 'panelFault', fault })) },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 1500 }).map((ms): Op => ({ kind: 'panelDown', ms })) },
  { weight: 4, arbitrary: pveFaultArb.map((fault): Op => ({ kind: 'pveFault', fault })) },
  { weight: 2, arbitrary: fc.integer({ min: 300, max: 3000 }).map((ms): Op => ({ kind: 'nodeOffline', ms })) },
  {
    weight: 4,
    arbitrary: fc
      .record({
        signal: fc.oneof({ weight: 4, arbitrary: fc.constant<'SIGKILL'>('SIGKILL') }, { weight: 1, arbitrary: fc.constant<'SIGTERM'>('SIGTERM') }),
        poke: fc.boolean(),
        delayMs: fc.integer({ min: 0, max: 400 }),
        restartAfterMs: fc.integer({ min: 0, max: 300 }),
      })
      .map((r): Op => ({ kind: 'kill', ...r })),
  },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 3 }).map((n): Op => ({ kind: 'passes', n })) },
  {
    weight: 2,
    arbitrary: fc
      .record({ call: fc.constantFrom<'delete' | 'update'>('delete', 'update'), i: indexArb, mode: panelModeArb })
      .map(({ call, i, mode }): Op => ({ kind: 'undoAfterCall', call, i, fault: { ...mode, action: call, times: 1 } as PanelFaultSpec })),
  },
  {
    weight: 3,
    arbitrary: fc
      .record({
        action: fc.constantFrom<'create' | 'update' | 'delete'>('create', 'create', 'update', 'delete'),
        commit: fc.constantFrom<'before' | 'after'>('before', 'after'),
        i: indexArb,
        spec: vmSpecArb,
        user: userArb,
        delayMs: fc.integer({ min: 0, max: 150 }),
        restartAfterMs: fc.integer({ min: 0, max: 300 }),
      })
      .map(({ spec, user, ...r }): Op => ({ kind: 'killMidCall', ...r, spec: { ...spec, user, template: false } })),
  },
  { weight: 2, arbitrary: billingOutageArb(vmSpecArb) },
  { weight: 2, arbitrary: billRowFaultArb },
);

/** A whole case: a starting fleet and 6–12 steps of changes, faults and kills. */
export const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  initial: fc.array(vmSpecArb, { minLength: 3, maxLength: 7 }),
  unknownId: fc.constantFrom<'404' | '200'>('404', '200'),
  steps: fc.array(fc.record({ op: opArb, waitMs: fc.integer({ min: 0, max: 500 }) }), { minLength: 6, maxLength: 12 }),
});

// ---------------------------------------------------------------------------- the run

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What a finished case reports (for the suite's summary line). */
export interface CaseResult {
  readonly ms: number;
  readonly ambiguous: number;
  readonly kills: number;
  /** Times a Proxmox node went offline (its guests listed without a state). */
  readonly nodeOutages: number;
  readonly convergedAfter: number;
  readonly rows: number;
  /** Billing faults made (unreadable billing, broken rows). */
  readonly billingFaults: number;
}

/** Runs one case; throws an Error carrying the whole story when a property fails. */
export async function runScenario(scenario: Scenario, label: string): Promise<CaseResult> {
  const run = new ChaosRun(scenario, label);
  return run.execute();
}

class ChaosRun {
  private readonly started = Date.now();
  private readonly story: string[] = [];
  private world!: World;
  private model!: Model;
  private daemon!: DaemonProc;
  private probe!: StateProbe;
  private kills = 0;
  private nodeOutages = 0;
  private probabilisticFaults: number[] = [];
  /** Until when the panel refuses connections (the panelDown op). */
  private panelDownUntil = 0;

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
      throw this.report(err);
    } finally {
      if (this.daemon?.running) await this.daemon.kill('SIGKILL');
      await this.world.stop();
    }
  }

  private async body(): Promise<CaseResult> {
    const { world } = this;
    world.panel.recordHistory();
    world.panel.configure({ unknownId: this.scenario.unknownId });
    this.model = new Model(world);
    this.model.billBadEntryVmids(BAD_ENTRY_VMIDS);
    for (const spec of this.scenario.initial) this.note(this.model.addVm(spec));

    const httpPort = await freePort();
    const base = world.configObject();
    world.writeConfig({
      schedule: '*/1 * * * * *',
      panel: { ...(base.panel as object), timeoutMs: PANEL_TIMEOUT_MS, concurrency: 4 },
      sources: (base.sources as Record<string, unknown>[]).map((s) => ({ ...s, timeoutMs: PVE_TIMEOUT_MS })),
      billing: { ...(base.billing as object), timeoutMs: BILLING_TIMEOUT_MS },
      guards: { ...GUARDS },
      retry: { ...RETRY },
      http: { listen: `127.0.0.1:${httpPort}`, adminToken: ADMIN_TOKEN },
      log: { level: process.env.CHAOS_LOG ?? 'info' },
    });
    this.probe = new StateProbe(world.statePath);
    this.daemon = new DaemonProc(world.configPath, httpPort, ADMIN_TOKEN);
    await this.daemon.start();
    this.note('daemon started');
    await this.waitPasses(1, 8000);

    for (const step of this.scenario.steps) {
      await this.apply(step.op);
      if (step.waitMs > 0) await sleep(step.waitMs);
      for (const id of this.probabilisticFaults) world.panel.removeFault(id);
      this.probabilisticFaults = [];
      this.expectAlive();
    }

    // ---- the faults stop
    world.panel.clearFaults();
    await world.panel.up();
    world.pve.faults.clear();
    world.pve.inventory.setNodeOnline('pve-b', true);
    this.note('faults cleared');
    if (!this.daemon.running) await this.daemon.start();
    const convergedAfter = await this.converge('after the faults', true);

    // ---- properties over the whole run
    const ambiguous = this.ambiguousVmids();
    await this.checkReports(ambiguous);
    const history = historyProblems(world.panel.history(), this.model, ambiguous, this.probe.passStarts());
    if (history.length > 0) throw new Error(`history properties failed:\n  ${history.join('\n  ')}`);
    const billing = billingFaultProblems(this.probe.finishedPasses(), world.panel.history(), this.model.billingFaults);
    if (billing.length > 0) throw new Error(`billing fault properties failed:\n  ${billing.join('\n  ')}`);

    // ---- the operator settles the ambiguous creates; then everything must be exact
    if (ambiguous.size > 0) {
      await this.resolveAmbiguous();
      await this.converge('after resolve', false);
      const left = this.probe.read().open;
      if (left.some((i) => i.state === 'ambiguous')) throw new Error(`ambiguous items left after resolve: ${JSON.stringify(left)}`);
      const again = historyProblems(world.panel.history(), this.model, ambiguous, this.probe.passStarts());
      if (again.length > 0) throw new Error(`history properties failed after resolve:\n  ${again.join('\n  ')}`);
    }
    const open = this.probe.read().open;
    if (open.length > 0) throw new Error(`outbox items still open after convergence:\n  ${open.map((i) => `${i.kind} ${i.key} #${i.panelId ?? '-'} ${i.state}/${i.failure ?? ''}: ${i.lastError ?? ''}`).join('\n  ')}`);

    // ---- a graceful stop leaves nothing in flight
    const exit = await this.daemon.kill('SIGTERM');
    if (exit.code !== 0) throw new Error(`SIGTERM: the daemon exited with ${exit.code}/${exit.signal}, want 0`);
    return {
      ms: Date.now() - this.started,
      ambiguous: ambiguous.size,
      kills: this.kills,
      nodeOutages: this.nodeOutages,
      convergedAfter,
      rows: world.panel.table().length,
      billingFaults: this.model.billingFaults.length,
    };
  }

  private expectAlive(): void {
    if (this.daemon.unexpectedExits.length > 0) throw new Error(this.daemon.unexpectedExits.join('; '));
  }

  private async apply(op: Op): Promise<void> {
    const { model, world } = this;
    switch (op.kind) {
      case 'add':
        return this.note(model.addVm(op.spec));
      case 'remove':
        return this.note(model.removeVm(op.i));
      case 'hide':
        return this.note(model.hideVm(op.i));
      case 'restore':
        return this.note(model.restoreVm(op.i));
      case 'reuse':
        return this.note(model.reuseVmid(op.i, op.spec));
      case 'power':
        return this.note(model.togglePower(op.i));
      case 'resize':
        return this.note(model.resize(op.i, op.cpu, op.memMiB, op.diskGiB));
      case 'owner':
        return this.note(model.setOwner(op.i, op.user, op.osId));
      case 'suspend':
        return this.note(model.toggleSuspended(op.i));
      case 'panelFault': {
        const id = world.panel.addFault(op.fault);
        if (op.fault.probability !== undefined) this.probabilisticFaults.push(id);
        return this.note(`panel fault ${JSON.stringify(op.fault)}`);
      }
      case 'panelDown':
        world.panel.downFor(op.ms);
        this.panelDownUntil = Date.now() + op.ms + 100;
        return this.note(`panel down for ${op.ms} ms`);
      case 'pveFault':
        if (op.fault.kind === 'emptyList' || op.fault.kind === 'partialList') return this.armShrinkingFault(op.fault);
        world.pve.faults.set(op.fault);
        return this.note(`proxmox fault ${JSON.stringify(op.fault)}`);
      case 'nodeOffline': {
        world.pve.inventory.setNodeOnline('pve-b', false);
        this.nodeOutages++;
        const timer = setTimeout(() => world.pve.inventory.setNodeOnline('pve-b', true), op.ms);
        timer.unref();
        return this.note(`proxmox node pve-b offline for ${op.ms} ms`);
      }
      case 'kill':
        return this.kill(op);
      case 'killMidCall':
        return this.killMidCall(op);
      case 'undoAfterCall':
        return this.undoAfterCall(op);
      case 'passes':
        return this.note(`${await this.runPasses(op.n)}/${op.n} pass(es) ran`);
      case 'billingOutage':
        return runBillingOutage(op, this.faultDriver());
      case 'billRowFault':
        return runBillRowFault(op, this.faultDriver());
    }
  }

  /** Back to back, faster than the schedule, so guard windows and retries play out within a case. */
  private async runPasses(n: number): Promise<number> {
    let ran = 0;
    for (let k = 0; k < n; k++) {
      const after = this.probe.lastPass()?.id ?? 0;
      if (!(await this.daemon.requestPass()) || !(await this.waitPasses(1, 3000, after))) break;
      ran++;
    }
    return ran;
  }

  private faultDriver(): FaultDriver {
    const { world, model, probe } = this;
    return {
      world,
      model,
      probe,
      note: (line) => this.note(line),
      passes: (n) => this.runPasses(n),
      restart: async () => {
        await this.daemon.kill('SIGKILL');
        this.kills++;
        await this.daemon.start();
      },
      quiet: () =>
        world.panel.faults().length === 0 &&
        Date.now() >= this.panelDownUntil &&
        world.pve.faults.list().length === 0 &&
        world.pve.inventory.offlineNodes().length === 0,
    };
  }

  /**
   * An empty or partial listing is armed only after the delete guard's counters of every VM that
   * still exists are back to 0 (a clean listing happened since the last one). The guard's
   * contract is about *transient* bad listings: fewer than `missingPassesBeforeDelete`
   * consecutive ones never delete. A listing that stays empty for that many passes looks exactly
   * like every VM being deleted, and is then held for an operator (more deletes than max(1, 10 %)
   * of the source) — see safety-guards.test.ts. Chaining two faults here could otherwise make 3 in a row.
   */
  private async armShrinkingFault(fault: PveFaultSpec): Promise<void> {
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      const armed = this.world.pve.faults.list().some((f) => f.spec.kind === 'emptyList' || f.spec.kind === 'partialList');
      const idle = this.probe.lastPass()?.finished ?? true;
      const missing = this.probe.missingPasses();
      const counting = this.model.present().some((vmid) => (missing.get(`pve1/${vmid}`) ?? 0) > 0);
      if (!armed && idle && !counting) {
        this.world.pve.faults.set(fault);
        return this.note(`proxmox fault ${JSON.stringify(fault)}`);
      }
      await sleep(50);
    }
    this.note(`proxmox fault ${JSON.stringify(fault)} skipped: the guard counters did not return to 0 in time`);
  }

  private async kill(op: Extract<Op, { kind: 'kill' }>): Promise<void> {
    if (op.poke) await this.daemon.requestPass();
    if (op.delayMs > 0) await sleep(op.delayMs);
    const exit = await this.daemon.kill(op.signal);
    this.kills++;
    this.note(`${op.signal} → exit ${exit.code ?? exit.signal}`);
    if (op.signal === 'SIGTERM') {
      if (exit.code !== 0) throw new Error(`SIGTERM: the daemon exited with ${exit.code}/${exit.signal}, want 0`);
      // Graceful: every call that was in flight finished and was recorded.
      const inFlight = this.probe.read().open.filter((i) => i.state === 'in_flight');
      if (inFlight.length > 0) throw new Error(`SIGTERM left in-flight outbox items: ${JSON.stringify(inFlight)}`);
    }
    if (op.restartAfterMs > 0) await sleep(op.restartAfterMs);
    await this.daemon.start();
    this.note('daemon restarted');
  }

  private async undoAfterCall(op: Extract<Op, { kind: 'undoAfterCall' }>): Promise<void> {
    const { world, model } = this;
    const vmid = model.present()[op.i % Math.max(1, model.present().length)];
    if (vmid === undefined) return this.note(`undo after ${op.call}: no VM`);
    const fault = world.panel.addFault(op.fault);
    this.note(`panel fault ${JSON.stringify(op.fault)}`);
    const count = (): number => world.panel.stats().byAction[op.call] ?? 0;
    const before = count();
    this.note(op.call === 'delete' ? model.hideVm(op.i) : model.togglePower(op.i));
    // Passes back to back until the call has gone out (a delete needs the guard's window first).
    for (let k = 0; k < GUARDS.missingPassesBeforeDelete + 2 && count() === before; k++) {
      const after = this.probe.lastPass()?.id ?? 0;
      if (!(await this.daemon.requestPass()) || !(await this.waitPasses(1, 3000, after))) break;
    }
    const sent = count() > before;
    world.panel.removeFault(fault);
    this.note(op.call === 'delete' ? model.restoreVm(model.hiddenIndexOf(vmid)) : model.togglePower(model.present().indexOf(vmid)));
    this.note(`… undone ${sent ? `after the ${op.call} was sent` : `(no ${op.call} was sent)`}`);
  }

  private async killMidCall(op: Extract<Op, { kind: 'killMidCall' }>): Promise<void> {
    const { world, model } = this;
    // Answered just within the client's timeout, unless the daemon dies first.
    const fault = world.panel.addFault({ mode: 'slowMs', ms: PANEL_TIMEOUT_MS - 150, commit: op.commit, action: op.action, times: 1 });
    if (op.action === 'create') this.note(model.addVm(op.spec));
    else if (op.action === 'update') this.note(model.togglePower(op.i));
    else this.note(model.setOwner(op.i, op.spec.user, op.spec.osId));
    const count = (): number => world.panel.stats().byAction[op.action] ?? 0;
    const before = count();
    await this.daemon.requestPass();
    const deadline = Date.now() + 1500;
    while (count() === before && Date.now() < deadline) await sleep(5);
    const inFlight = count() > before;
    if (op.delayMs > 0) await sleep(op.delayMs);
    const exit = await this.daemon.kill('SIGKILL');
    this.kills++;
    world.panel.removeFault(fault);
    this.note(`SIGKILL ${inFlight ? `with a ${op.action} in flight (commit ${op.commit})` : `(no ${op.action} was sent)`} → exit ${exit.code ?? exit.signal}`);
    if (op.restartAfterMs > 0) await sleep(op.restartAfterMs);
    await this.daemon.start();
    this.note('daemon restarted');
  }

  /** Waits until `n` passes newer than `after` (default: the newest now) have finished; false on timeout. */
  private async waitPasses(n: number, timeoutMs: number, after = this.probe.lastPass()?.id ?? 0): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.probe.finishedAfter(after).length >= n) return true;
      await sleep(25);
    }
    return false;
  }

  private async waitIdle(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.probe.lastPass()?.finished ?? false) return;
      await sleep(25);
    }
    throw new Error(`the daemon did not finish its pass within ${timeoutMs} ms`);
  }

  private ambiguousVmids(): Set<number> {
    const open = this.probe.read().open;
    return new Set(open.filter((i) => i.state === 'ambiguous').map((i) => Number(i.key.split('/')[1])));
  }

  /**
   * Drives passes one at a time (POST /resync) until the table is right, and checks how many it took.
   *
   * Counting starts with the first pass that begins after the faults stopped, the last faulty pass
   * finished, and the short breaker cooldown / retry delay passed. Our reading of "within two
   * passes": creates and updates are due in the first clean pass, but the circuit breaker may spend
   * that pass probing with one request, so every VM with nothing to delete first (no row of another
   * generation or customer, no unconfirmed delete) must be right after pass 3 (2 + the probe).
   * Deletes need the guard's window: `missingPassesBeforeDelete` successful listings without the
   * VM, then at most max(1, 10 %) deletes per pass; so the table must be exact after
   * 2 + 1 + missingPassesBeforeDelete + (deletes due) passes, and by then the daemon must know it
   * (no open outbox item but ambiguous creates: a delete the panel did without confirming it is
   * still finished). After that, one more pass must send nothing.
   */
  private async converge(what: string, allowAmbiguous: boolean): Promise<number> {
    const { world } = this;
    await this.waitIdle(10_000);
    await sleep(Math.max(RETRY.breakerCooldownMs, RETRY.maxDelayMs) + 100);
    const base = this.probe.lastPass()?.id ?? 0;
    const desired = this.model.desired();
    // VMs whose delete is still open (sent, unconfirmed) must finish it before they are right again.
    const openDeletes = new Set(this.probe.read().open.filter((i) => i.kind === 'delete').map((i) => Number(i.key.split('/')[1])));
    const toDelete =
      openDeletes.size +
      world.panel.table().filter((r) => {
        const want = desired.get(parseVmName(r.name)?.vmid ?? -1);
        return !want || want.name !== r.name || want.user_id !== r.user_id;
      }).length;
    const limit = 3 + GUARDS.missingPassesBeforeDelete + toDelete;
    this.note(`converging ${what}: from pass #${base}, at most ${limit} passes (${toDelete} row(s) to delete)`);
    let seen = base;
    let earlyChecked = false;
    for (;;) {
      // Deletes held because more were due at once than a pass may make wait for the operator, who
      // checks the VMs really are gone (here: the model says so; faults are over) and forces a pass.
      const held = seen > base ? this.probe.heldDeletes(seen) : 0;
      if (held > 0) this.note(`operator: pass #${seen} held ${held} delete(s); resync --force`);
      await this.daemon.requestPass({ force: held > 0 });
      const deadline = Date.now() + 10_000;
      let done = this.probe.finishedAfter(seen);
      while (done.length === 0 && Date.now() < deadline) {
        await sleep(20);
        done = this.probe.finishedAfter(seen);
      }
      if (done.length === 0) throw new Error(`converging ${what}: no pass finished within 10 s`);
      seen = done.at(-1)!.id;
      const passes = seen - base;
      const ambiguous = allowAmbiguous ? this.ambiguousVmids() : new Set<number>();
      const table = world.panel.table();
      if (!earlyChecked && passes >= 3) {
        earlyChecked = true;
        const early = tableProblems(table, desired, ambiguous, 'early', openDeletes);
        if (early.length > 0) throw new Error(`converging ${what}: after ${passes} passes, VMs with nothing to delete first are still wrong:\n  ${early.join('\n  ')}`);
      }
      const problems = tableProblems(table, desired, ambiguous, 'final');
      // The daemon must know it is done too: a delete the panel did but never confirmed is still finished.
      const unsettled = this.probe.read().open.filter((i) => i.state !== 'ambiguous');
      if (problems.length === 0 && unsettled.length > 0 && passes >= limit) {
        problems.push(`the table is right but the outbox still has ${unsettled.map((i) => `${i.kind} ${i.key} (${i.state})`).join(', ')}`);
      }
      if (problems.length === 0 && unsettled.length === 0) {
        this.note(`converged ${what} after ${passes} pass(es) (#${seen})`);
        await this.expectQuietPass(what, table);
        this.expectAlive();
        return passes;
      }
      if (passes >= limit) throw new Error(`converging ${what}: the table is still wrong after ${passes} passes:\n  ${problems.join('\n  ')}`);
    }
  }

  /** A pass after convergence sends nothing and changes nothing. */
  private async expectQuietPass(what: string, table: PanelRow[]): Promise<void> {
    const before = this.world.panel.stats().total;
    const after = this.probe.lastPass()?.id ?? 0;
    await this.daemon.requestPass();
    const deadline = Date.now() + 10_000;
    while (this.probe.finishedAfter(after).length === 0) {
      if (Date.now() > deadline) throw new Error('the steady-state pass did not finish within 10 s');
      await sleep(20);
    }
    const sent = this.world.panel.stats().total - before;
    if (sent !== 0) throw new Error(`${what}: a pass after convergence still sent ${sent} request(s)`);
    if (JSON.stringify(this.world.panel.table()) !== JSON.stringify(table)) throw new Error(`${what}: the table changed in a pass after convergence`);
  }

  /** The ambiguous creates are reported: `status` lists each one, `status --json` counts them. */
  private async checkReports(ambiguous: ReadonlySet<number>): Promise<void> {
    const text = await this.world.cli('status');
    const listed = new Set([...text.stdout.matchAll(/AMBIGUOUS create pve1\/(\d+)/g)].map((m) => Number(m[1])));
    const json = JSON.parse((await this.world.cli('status', '--json')).stdout) as { outbox: { ambiguous: number } };
    const want = [...ambiguous].sort().join(',');
    if ([...listed].sort().join(',') !== want || json.outbox.ambiguous !== ambiguous.size) {
      throw new Error(`status does not report the ambiguous creates ${want || '(none)'}: text lists ${[...listed].join(',') || 'none'}, --json counts ${json.outbox.ambiguous}`);
    }
    if (ambiguous.size > 0) this.note(`ambiguous creates reported: ${want}`);
  }

  /** What an operator does: adopt the VPS when the panel has it (same name and customer, not known to the daemon), else recreate. */
  private async resolveAmbiguous(): Promise<void> {
    const { snapshot, open } = this.probe.read();
    const known = new Set(snapshot.map((e) => e.panelId));
    const table = this.world.panel.table();
    for (const item of open.filter((i) => i.state === 'ambiguous' && i.kind === 'create')) {
      const f = item.fields!;
      const rows = table.filter((r) => r.name === f.name && r.user_id === f.user_id && !known.has(r.id));
      if (rows.length > 1) throw new Error(`one ambiguous create of ${item.key} left ${rows.length} rows: ${JSON.stringify(rows)}`);
      const args = rows.length === 1 ? ['--panel-id', String(rows[0]!.id)] : ['--recreate'];
      const r = await this.world.cli('resolve', item.key, ...args);
      if (r.code !== 0) throw new Error(`resolve ${item.key} ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
      this.note(`resolve ${item.key} ${args.join(' ')}`);
    }
  }

  private report(err: unknown): Error {
    const dir = join(tmpdir(), 'ospab-chaos');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${this.label.replace(/[^\w.-]+/g, '_')}-${Date.now()}.log`);
    let table = '';
    let history = '';
    try {
      table = JSON.stringify(this.world.panel.table(), null, 1);
      history = this.world.panel.history().map((e) => `${new Date(e.at).toISOString()} ${e.change} #${e.row.id} ${e.row.name} u${e.row.user_id} ${e.row.status}`).join('\n');
    } catch {
      // world already gone
    }
    writeFileSync(file, [`${this.label}`, String((err as Error)?.stack ?? err), '', 'STORY', ...this.story, '', 'PANEL TABLE', table, '', 'PANEL HISTORY', history, '', 'DAEMON OUTPUT', this.daemon?.output() ?? ''].join('\n'));
    const message = `${this.label}: ${(err as Error)?.message ?? String(err)}\n\nstory:\n${this.story.join('\n')}\n\nfull log: ${file}`;
    return new Error(message, { cause: err });
  }
}
