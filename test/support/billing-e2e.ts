// Billing end to end: the real CLI (`once`, `plan --json`, `status --json`) against the Proxmox
// and panel simulators, with the billing database on SQLite, MariaDB or PostgreSQL. One scenario
// table, registered once per driver by test/e2e/billing-<driver>.test.ts.
import { describe, expect, it } from 'vitest';
import type { GuestInput } from '../../src/simulators/proxmox/index.js';
import type { PanelRow } from '../../src/simulators/panel/types.js';
import {
  BILLING_TIMEOUT_MS,
  OUTAGE_KINDS,
  type BillingBackend,
  type BillingDatabase,
  type OutageKind,
} from './billing-backend.js';
import { World, type CliResult } from './world.js';

/** One pino line as the CLI logs it. */
export interface LogLine {
  level: number;
  msg: string;
  drift?: string;
  vm?: string;
  billingId?: string | null;
  userId?: number;
  panelId?: number;
  where?: string;
  [k: string]: unknown;
}
const WARN = 40;
const ERROR = 50;

interface DriftJson {
  class: string;
  key?: string;
  panelId?: number;
  billingId?: string | null;
  userId?: number;
  detail: string;
}
interface ActionJson {
  kind: 'create' | 'update' | 'delete';
  key: string;
  panelId?: number;
  reason?: string;
  changed?: string[];
  owner?: { userId: number; billingId: string | null };
  fields?: Record<string, unknown>;
}
export interface PlanJson {
  billing: { ok: true; rows: number; rejected: { where: string; problem: string; vmId?: string }[] } | { ok: false; error: string };
  actions: ActionJson[];
  drift: DriftJson[];
  driftCounts: Record<string, number>;
  problems: string[];
}
interface StatusJson {
  billing: { up: boolean | null; lastError: string | null };
  snapshot: { vps: number };
  lastPasses: { result: string; drift: Record<string, number>; problems: string[]; actions: { planned: number; ok: number } }[];
}

/** A `once` run with its log lines parsed. */
export interface OnceResult extends CliResult {
  readonly logs: LogLine[];
}

/** The world plus a billing database of one driver, driven through the CLI. */
export class BillingWorld {
  private constructor(
    readonly world: World,
    readonly db: BillingDatabase,
  ) {}

  static async start(backend: BillingBackend, options: { extraProxmox?: string[]; query?: string } = {}): Promise<BillingWorld> {
    const db = await backend.create();
    const world = new World({
      billing: { driver: db.driver, url: db.url },
      ...(options.extraProxmox ? { extraProxmox: options.extraProxmox } : {}),
      config: {
        billing: { driver: db.driver, url: db.url, timeoutMs: BILLING_TIMEOUT_MS, ...(options.query ? { query: options.query } : {}) },
        log: { level: 'info' },
        // The delete guards have their own tests; here an owner change and a gone VM may go in one pass.
        guards: { missingPassesBeforeDelete: 1, maxDeletesPerPass: 20, maxDeleteFraction: 1 },
      },
    });
    try {
      await world.start();
    } catch (err) {
      await Promise.allSettled([world.stop(), db.close()]);
      throw err;
    }
    return new BillingWorld(world, db);
  }

  /** Adds (or replaces) a running VM named `vm<id>` on a Proxmox source. */
  vm(vmid: number, over: Partial<GuestInput> = {}, source = 'pve1'): void {
    this.world.addVm({ vmid, name: `vm${vmid}`, ...over }, source);
  }

  /** `once`: one real pass. */
  async once(): Promise<OnceResult> {
    const r = await this.world.cli('once');
    this.noSecret(r);
    return { ...r, logs: parseLogs(r.stdout) };
  }

  /** `plan --json`, parsed; `stderr` holds its warnings (JSON lines) and, when it exits 1, what it could not read. */
  async plan(): Promise<{ code: number; json: PlanJson; logs: LogLine[]; stderr: string }> {
    const r = await this.world.cli('plan', '--json');
    this.noSecret(r);
    const json = JSON.parse(r.stdout) as PlanJson & { complete: boolean };
    // 1 only for a plan that could not read everything (it still prints what it planned).
    if (r.code === 1) expect(json.complete, r.stderr).toBe(false);
    else expect([0, 2], r.stderr).toContain(r.code);
    return { code: r.code, json, logs: parseLogs(r.stderr), stderr: r.stderr };
  }

  /** `status --json`, parsed. */
  async status(): Promise<StatusJson> {
    const r = await this.world.cli('status', '--json');
    this.noSecret(r);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as StatusJson;
  }

  /** The panel's VPS table. */
  panel(): PanelRow[] {
    return this.world.panel.table();
  }

  /** The panel's row for a VM name (VMs are named `vm<id>` unless a test says otherwise). */
  row(name: string): PanelRow | undefined {
    return this.panel().find((r) => r.name === name);
  }

  /** Panel requests so far by action. */
  requests(): { create: number; update: number; delete: number } {
    const by = this.world.panelRequests();
    return { create: by.create ?? 0, update: by.update ?? 0, delete: by.delete ?? 0 };
  }

  /** Runs `work` and returns how many panel requests of each action it caused. */
  async counting(work: () => Promise<unknown>): Promise<{ create: number; update: number; delete: number }> {
    const before = this.requests();
    await work();
    const after = this.requests();
    return { create: after.create - before.create, update: after.update - before.update, delete: after.delete - before.delete };
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.world.stop(), this.db.close()]);
  }

  private noSecret(r: CliResult): void {
    if (this.db.password !== null) expect(r.stdout + r.stderr).not.toContain(this.db.password);
  }
}

/** The JSON log lines in a command's output (other lines are its own report). */
export function parseLogs(text: string): LogLine[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

/** The drift items of one class. */
const driftOf = (plan: PlanJson, cls: string): DriftJson[] => plan.drift.filter((d) => d.class === cls);
/** Warn-level log lines about one drift class. */
const driftLogs = (logs: LogLine[], cls: string): LogLine[] => logs.filter((l) => l.drift === cls && l.level === WARN);
const summary = (plan: PlanJson): string[] => plan.actions.map((a) => `${a.kind} ${a.key}${a.panelId !== undefined ? ` #${a.panelId}` : ''}`).sort();

/** A loose table for a shop with its own schema: every column text, so the bad-row cases can be written. */
const SVC_TABLE = 'CREATE TABLE svc (id INTEGER PRIMARY KEY, node VARCHAR(64), vm VARCHAR(64), owner VARCHAR(64), state VARCHAR(64))';
const SVC_QUERY = 'SELECT node AS source, vm AS vm_id, owner AS user_id, id AS billing_id, state AS status FROM svc ORDER BY id';
const svcRow = (id: number, node: string | null, vm: string | null, owner: string | null): string =>
  `INSERT INTO svc (id, node, vm, owner, state) VALUES (${id}, ${[node, vm, owner].map((v) => (v === null ? 'NULL' : `'${v}'`)).join(', ')}, 'active')`;

/** What each outage must say, in `plan`, `once` and `status`. */
const OUTAGE_TEXT: Record<OutageKind, RegExp> = {
  refused: /connection refused|cannot open the database file/,
  auth: /authentication failed/,
  query: /query failed/,
  timeout: /timed out after \d+ ms|stayed locked for more than \d+ ms/,
};

interface Scenario {
  readonly name: string;
  readonly extraProxmox?: string[];
  readonly query?: string;
  readonly run: (w: BillingWorld) => Promise<void>;
}

const SCENARIOS: Scenario[] = [
  {
    name: "built-in query on the main site's tables: VMs synced with user_id, os and status from billing",
    async run(w) {
      w.vm(100, { maxcpu: 4, maxmem: 8 * 1024 ** 3 });
      w.vm(101, { type: 'lxc', status: 'stopped' });
      w.vm(102, { status: 'stopped' });
      const a = await w.db.bill(100, 3);
      const b = await w.db.bill(101, 4, { osId: 2, status: 'stopped' });
      const c = await w.db.bill(102, 5, { status: 'blocked' });
      await w.db.bill(null, 6, { status: 'creating' }); // ordered, not created on Proxmox yet: nothing to say

      const planned = await w.plan();
      expect(planned.code).toBe(2);
      expect(planned.json.billing).toMatchObject({ ok: true, rows: 3, rejected: [] });
      expect(planned.json.actions.map((x) => [x.kind, x.key, x.owner])).toEqual([
        ['create', 'pve1/100', { userId: 3, billingId: String(a) }],
        ['create', 'pve1/101', { userId: 4, billingId: String(b) }],
        ['create', 'pve1/102', { userId: 5, billingId: String(c) }],
      ]);
      expect(planned.json.drift.map((d) => d.class).sort()).toEqual(['missing_on_panel', 'missing_on_panel', 'missing_on_panel']);

      const r = await w.once();
      expect(r.code, r.stdout).toBe(0);
      expect(r.logs.find((l) => /built-in query uses server\.userId/.test(l.msg))).toBeDefined();
      const rows = w.panel().map(({ user_id, name, cpu, ram, os, status, hypervisor }) => ({ user_id, name, cpu, ram, os, status, hypervisor }));
      expect(rows).toEqual([
        { user_id: 3, name: 'vm100', cpu: 4, ram: 8192, os: 'Ubuntu 22.04 LTS', status: 'running', hypervisor: 'proxmox' },
        { user_id: 4, name: 'vm101', cpu: 2, ram: 4096, os: 'Debian 12', status: 'stopped', hypervisor: 'proxmox' },
        { user_id: 5, name: 'vm102', cpu: 2, ram: 4096, os: 'Ubuntu 22.04 LTS', status: 'suspended', hypervisor: 'proxmox' },
      ]);
      const status = await w.status();
      expect(status.billing).toEqual({ up: true, lastError: null });
      expect(status.snapshot.vps).toBe(3);
      const checked = await w.world.cli('check-config');
      expect(checked.code).toBe(0);
      if (w.db.password !== null) expect(checked.stdout).not.toContain(w.db.password);
      expect(status.lastPasses[0]?.result).toBe('success');

      // Steady state: nothing more to send, and plan agrees.
      expect(await w.counting(() => w.once())).toEqual({ create: 0, update: 0, delete: 0 });
      expect((await w.plan()).code).toBe(0);
    },
  },
  {
    name: 'unbilled: a VM nobody pays for is reported with its VM id and never pushed',
    async run(w) {
      w.vm(100);
      w.vm(200, { name: 'leak' });
      await w.db.bill(100, 3);
      const { json } = await w.plan();
      expect(driftOf(json, 'unbilled')).toEqual([expect.objectContaining({ key: 'pve1/200' })]);
      expect(driftOf(json, 'unbilled')[0]!.detail).toContain('leak');
      const r = await w.once();
      expect(r.code, r.stdout).toBe(0);
      expect(driftLogs(r.logs, 'unbilled')).toEqual([expect.objectContaining({ vm: 'pve1/200' })]);
      expect(w.panel().map((x) => x.name)).toEqual(['vm100']);
      expect((await w.status()).lastPasses[0]?.drift.unbilled).toBe(1);
    },
  },
  {
    name: 'billed_but_missing: a paid server with no VM is reported with its billing id, nothing is sent',
    async run(w) {
      w.vm(100);
      await w.db.bill(100, 3);
      const ghost = await w.db.bill(300, 8);
      const { json } = await w.plan();
      expect(driftOf(json, 'billed_but_missing')).toEqual([expect.objectContaining({ billingId: String(ghost), userId: 8 })]);
      expect(driftOf(json, 'billed_but_missing')[0]!.detail).toMatch(/vm 300/);
      const r = await w.once();
      expect(driftLogs(r.logs, 'billed_but_missing')).toEqual([expect.objectContaining({ billingId: String(ghost), userId: 8 })]);
      expect(w.panel().map((x) => x.name)).toEqual(['vm100']);
      expect((await w.status()).lastPasses[0]?.drift.billed_but_missing).toBe(1);
    },
  },
  {
    name: 'suspended_but_running: the panel shows suspended, the VM and billing ids are reported; lifting it sends running',
    async run(w) {
      w.vm(100);
      const id = await w.db.bill(100, 3, { status: 'suspended' });
      const { json } = await w.plan();
      expect(driftOf(json, 'suspended_but_running')).toEqual([expect.objectContaining({ key: 'pve1/100', billingId: String(id), userId: 3 })]);
      expect(json.actions).toEqual([expect.objectContaining({ kind: 'create', key: 'pve1/100', fields: expect.objectContaining({ status: 'suspended' }) })]);
      const r = await w.once();
      expect(driftLogs(r.logs, 'suspended_but_running')).toEqual([expect.objectContaining({ vm: 'pve1/100', billingId: String(id) })]);
      expect(w.panel()).toEqual([expect.objectContaining({ user_id: 3, status: 'suspended' })]);

      await w.db.setServer(id, { status: 'active' });
      expect(await w.counting(() => w.once())).toEqual({ create: 0, update: 1, delete: 0 });
      expect(w.panel()).toEqual([expect.objectContaining({ user_id: 3, status: 'running' })]);
      expect(driftOf((await w.plan()).json, 'suspended_but_running')).toEqual([]);
    },
  },
  {
    name: "owner_changed (ownership moved): the old VPS is deleted and a new one created, never updated to the new user",
    async run(w) {
      w.vm(100);
      w.vm(101);
      const id = await w.db.bill(100, 3);
      await w.db.bill(101, 4);
      await w.once();
      const old = w.row('vm100')!;
      expect(old.user_id).toBe(3);

      await w.db.setServer(id, { userId: 7 });
      const { json } = await w.plan();
      expect(summary(json)).toEqual([`create pve1/100`, `delete pve1/100 #${old.id}`]);
      expect(json.actions.find((a) => a.kind === 'create')).toMatchObject({ reason: 'owner_changed', owner: { userId: 7, billingId: String(id) } });
      expect(json.actions.some((a) => a.kind === 'update')).toBe(false);
      expect(driftOf(json, 'owner_changed')).toEqual([expect.objectContaining({ key: 'pve1/100', panelId: old.id, userId: 7, billingId: String(id) })]);

      let r: OnceResult | undefined;
      expect(await w.counting(async () => (r = await w.once()))).toEqual({ create: 1, update: 0, delete: 1 });
      expect(driftLogs(r!.logs, 'owner_changed')).toEqual([expect.objectContaining({ vm: 'pve1/100', panelId: old.id, userId: 7, billingId: String(id) })]);
      expect(w.panel().find((x) => x.id === old.id)).toBeUndefined();
      expect(w.row('vm100')).toMatchObject({ user_id: 7 });
      expect(w.row('vm101')).toMatchObject({ user_id: 4 });
      expect(await w.counting(() => w.once())).toEqual({ create: 0, update: 0, delete: 0 });
    },
  },
  {
    name: 'VMID reuse: the server row is deleted, Proxmox recreates VMID 100 for a new server row of another user',
    async run(w) {
      w.vm(100, { name: 'alice-web' });
      const first = await w.db.bill(100, 3);
      await w.once();
      const old = w.row('alice-web')!;

      // Alice cancels: her server row goes, her VM is still there for a moment → unbilled, VPS kept.
      await w.db.deleteServer(first);
      const between = await w.plan();
      expect(between.json.actions).toEqual([]);
      expect(driftOf(between.json, 'unbilled')).toEqual([expect.objectContaining({ key: 'pve1/100' })]);
      expect(await w.counting(() => w.once())).toEqual({ create: 0, update: 0, delete: 0 });
      expect(w.panel()).toHaveLength(1);

      // Proxmox deletes the VM and hands VMID 100 to Bob's new server.
      w.world.pve.inventory.remove(100);
      w.vm(100, { name: 'bob-db', maxcpu: 8 });
      const second = await w.db.bill(100, 9, { osId: 2 });
      const { json } = await w.plan();
      expect(summary(json)).toEqual(['create pve1/100', `delete pve1/100 #${old.id}`]);
      expect(driftOf(json, 'owner_changed')).toEqual([expect.objectContaining({ key: 'pve1/100', panelId: old.id, userId: 9, billingId: String(second) })]);
      expect(await w.counting(() => w.once())).toEqual({ create: 1, update: 0, delete: 1 });
      expect(w.panel().map(({ user_id, name, cpu, os }) => ({ user_id, name, cpu, os }))).toEqual([{ user_id: 9, name: 'bob-db', cpu: 8, os: 'Debian 12' }]);
      expect(w.panel()[0]!.id).not.toBe(old.id);
    },
  },
  {
    name: 'ambiguous_billing: a sourceless row for a VMID two Proxmox clusters have is reported and pushed to neither; an existing VPS is kept',
    extraProxmox: ['pve2'],
    async run(w) {
      w.vm(100, { name: 'on-pve1' });
      w.vm(101, { name: 'only-pve2' }, 'pve2');
      const shared = await w.db.bill(100, 3);
      await w.db.bill(101, 4);
      await w.once();
      expect(w.panel().map((x) => [x.name, x.user_id])).toEqual([
        ['on-pve1', 3],
        ['only-pve2', 4],
      ]);
      const kept = w.row('on-pve1')!;

      // pve2 gets a VM with the same id: the row no longer says which one it pays for.
      w.vm(100, { name: 'on-pve2' }, 'pve2');
      w.vm(102, { name: 'new-on-both' });
      w.vm(102, { name: 'new-on-both' }, 'pve2');
      const fresh = await w.db.bill(102, 5);
      const { json } = await w.plan();
      expect(driftOf(json, 'ambiguous_billing').map((d) => [d.billingId, d.userId]).sort()).toEqual([
        [String(shared), 3],
        [String(fresh), 5],
      ]);
      expect(driftOf(json, 'ambiguous_billing').find((d) => d.billingId === String(shared))!.detail).toMatch(/vm 100 exists on (pve1, pve2|pve2, pve1)/);
      expect(json.actions).toEqual([]);
      expect(driftOf(json, 'unbilled')).toEqual([]);
      expect(driftOf(json, 'owner_changed')).toEqual([]);

      let r: OnceResult | undefined;
      expect(await w.counting(async () => (r = await w.once()))).toEqual({ create: 0, update: 0, delete: 0 });
      expect(driftLogs(r!.logs, 'ambiguous_billing').map((l) => l.billingId).sort()).toEqual([String(shared), String(fresh)].sort());
      expect(w.panel()).toEqual([expect.objectContaining({ id: kept.id, user_id: 3 }), expect.objectContaining({ name: 'only-pve2', user_id: 4 })]);
      expect((await w.status()).lastPasses[0]?.drift.ambiguous_billing).toBe(2);
    },
  },
  {
    name: 'bad rows (custom query): null user_id, non-numeric ids, duplicate (source, vm_id) are reported by billing_id and skipped; the pass goes on, nothing is deleted or re-owned',
    query: SVC_QUERY,
    async run(w) {
      await w.db.exec(SVC_TABLE);
      for (const id of [100, 101, 102, 103]) w.vm(id);
      for (const [id, vm, owner] of [[1, '100', '3'], [2, '101', '4'], [3, '102', '5'], [4, '103', '6']] as const) await w.db.exec(svcRow(id, 'pve1', vm, owner));
      // A bad row from the start: its VM is neither created nor reported unbilled.
      w.vm(105);
      await w.db.exec(svcRow(5, 'pve1', '105', null));
      const first = await w.once();
      expect(first.stdout).toContain('rejected billing row 5 (billing_id 5): user_id is null');
      expect(w.panel().map((x) => [x.name, x.user_id])).toEqual([
        ['vm100', 3],
        ['vm101', 4],
        ['vm102', 5],
        ['vm103', 6],
      ]);
      const before = w.panel();

      // Rows turn bad under VPSes the panel already has.
      await w.db.exec('UPDATE svc SET owner = NULL WHERE id = 1'); // null user_id
      await w.db.exec("UPDATE svc SET owner = 'x1' WHERE id = 2"); // non-numeric user_id
      await w.db.exec(svcRow(11, 'pve1', '102', '9')); // duplicate (pve1, 102), another customer
      await w.db.exec(svcRow(12, 'pve1', 'abc', '7')); // non-numeric vm_id
      // Meanwhile, work that must still happen: a status change and a new paid VM.
      w.world.pve.inventory.update(103, { status: 'stopped' });
      w.vm(104);
      await w.db.exec(svcRow(13, 'pve1', '104', '8'));

      const { json, logs: planLogs } = await w.plan();
      const rejected = json.billing.ok ? json.billing.rejected : [];
      const problem = (billingId: number): string | undefined => rejected.find((x) => x.where.endsWith(`(billing_id ${billingId})`))?.problem;
      expect(problem(1)).toBe('user_id is null');
      expect(problem(2)).toBe('user_id is not a positive integer: "x1"');
      expect(problem(3)).toMatch(/^duplicate \(source, vm_id\) \(pve1, 102\): 2 rows claim it \(billing_id 3, billing_id 11\)/);
      expect(problem(11)).toBe(problem(3));
      expect(problem(12)).toBe('vm_id is not a positive integer or a vSphere id (vm-123): "abc"');
      expect(problem(5)).toBe('user_id is null');
      expect(planLogs.filter((l) => /rejected billing row/.test(l.msg)).map((l) => l.where).sort()).toEqual(
        [1, 2, 3, 5, 11, 12].map((id) => expect.stringContaining(`(billing_id ${id})`)),
      );
      expect(summary(json)).toEqual(['create pve1/104', `update pve1/103 #${before[3]!.id}`]);
      for (const cls of ['unbilled', 'owner_changed', 'gone_from_hypervisor']) expect(driftOf(json, cls)).toEqual([]);

      let r: OnceResult | undefined;
      expect(await w.counting(async () => (r = await w.once()))).toEqual({ create: 1, update: 1, delete: 0 });
      for (const id of [1, 2, 3, 11, 12]) expect(r!.stdout).toContain(`(billing_id ${id})`);
      expect(r!.logs.filter((l) => l.level === WARN && /rejected billing row/.test(l.msg)).length).toBe(6);
      expect(w.panel().map((x) => [x.id, x.name, x.user_id, x.status])).toEqual([
        ...before.map((x) => [x.id, x.name, x.user_id, x.name === 'vm103' ? 'stopped' : x.status]),
        [expect.any(Number), 'vm104', 8, 'running'],
      ]);
      // Fixed rows: back to nothing to do (the same owners), no owner change for the duplicate's VM.
      await w.db.exec('UPDATE svc SET owner = 3 WHERE id = 1');
      await w.db.exec("UPDATE svc SET owner = '4' WHERE id = 2");
      await w.db.exec('DELETE FROM svc WHERE id IN (5, 11, 12)');
      expect(await w.counting(() => w.once())).toEqual({ create: 0, update: 0, delete: 0 });
      expect((await w.plan()).code).toBe(0);
    },
  },
  {
    name: "bad rows (built-in query): a user without an SSO id and a stale server row reusing a proxmoxId keep their VPSes",
    async run(w) {
      await w.db.exec(`ALTER TABLE ${w.db.q('user')} ADD COLUMN ${w.db.q('ssoId')} INTEGER NULL`);
      await w.db.exec(`UPDATE ${w.db.q('user')} SET ${w.db.q('ssoId')} = 1000 + ${w.db.q('id')}`);
      w.vm(100);
      w.vm(101);
      const a = await w.db.bill(100, 3);
      const b = await w.db.bill(101, 4);
      const first = await w.once();
      expect(first.logs.find((l) => /built-in query uses user\.ssoId/.test(l.msg))).toBeDefined();
      expect(w.panel().map((x) => [x.name, x.user_id])).toEqual([
        ['vm100', 1003],
        ['vm101', 1004],
      ]);

      await w.db.exec(`UPDATE ${w.db.q('user')} SET ${w.db.q('ssoId')} = NULL WHERE ${w.db.q('id')} = 3`);
      const stale = await w.db.bill(101, 5, { status: 'deleted' });
      const { json } = await w.plan();
      const rejected = json.billing.ok ? json.billing.rejected : [];
      expect(rejected.map((x) => x.where)).toEqual([`billing row 1 (billing_id ${a})`, `billing row 2 (billing_id ${b})`, `billing row 3 (billing_id ${stale})`]);
      expect(rejected[0]!.problem).toBe('user_id is null');
      expect(rejected[1]!.problem).toBe(`duplicate (source, vm_id) (any source, 101): 2 rows claim it (billing_id ${b}, billing_id ${stale}); none is used`);
      expect(rejected[2]!.problem).toBe(rejected[1]!.problem);
      expect(json.actions).toEqual([]);
      expect(json.drift).toEqual([]);
      expect(await w.counting(() => w.once())).toEqual({ create: 0, update: 0, delete: 0 });
      expect(w.panel().map((x) => [x.name, x.user_id])).toEqual([
        ['vm100', 1003],
        ['vm101', 1004],
      ]);
    },
  },
];

/** The mid-life outage scenario for one kind of failure. */
function outageScenario(kind: OutageKind): Scenario {
  return {
    name: `billing down (${kind}): no creates, deletes or owner changes; the status update goes out; status says down; then it converges`,
    async run(w) {
      for (const id of [100, 101, 102]) w.vm(id);
      await w.db.bill(100, 3);
      const moved = await w.db.bill(101, 4);
      await w.db.bill(102, 5);
      expect((await w.once()).code).toBe(0);
      const before = w.panel();

      // What billing being up would turn into a create, a delete and an owner change — and a plain status change.
      // (Rows change before the outage: a locked or missing database takes no writes either.)
      await w.db.bill(103, 6);
      await w.db.setServer(moved, { userId: 7 });
      const outage = await w.db.outage(kind);
      try {
        w.vm(103);
        w.world.pve.inventory.remove(102);
        w.world.pve.inventory.update(100, { status: 'stopped' });

        // It still shows the status update it would send, but cannot say the rest matches: exit 1.
        const { code, json, logs: planLogs, stderr } = await w.plan();
        expect(code).toBe(1);
        expect(stderr).toMatch(/^plan is incomplete: billing is unavailable; /m);
        expect(json.billing.ok).toBe(false);
        expect(json.billing.ok ? '' : json.billing.error).toMatch(OUTAGE_TEXT[kind]);
        expect(planLogs.filter((l) => l.level === ERROR && /billing is unavailable this pass/.test(l.msg))).toHaveLength(1);
        expect(json.actions.map((a) => [a.kind, a.key, a.changed])).toEqual([['update', 'pve1/100', ['status']]]);
        for (const cls of ['unbilled', 'billed_but_missing', 'owner_changed']) expect(driftOf(json, cls)).toEqual([]);
        expect(driftOf(json, 'gone_from_hypervisor')).toEqual([expect.objectContaining({ key: 'pve1/102', detail: expect.stringContaining('not deleted while billing is unavailable') })]);

        let r: OnceResult | undefined;
        expect(await w.counting(async () => (r = await w.once()))).toEqual({ create: 0, update: 1, delete: 0 });
        expect(r!.code).toBe(1);
        expect(r!.stdout).toMatch(new RegExp(`billing unavailable: billing \\(.*\\): .*(${OUTAGE_TEXT[kind].source})`));
        // One clear line: the only error the pass logs.
        expect(r!.logs.filter((l) => l.level >= ERROR).map((l) => l.msg)).toEqual([expect.stringMatching(/^billing is unavailable this pass .*: billing \(/)]);
        expect(w.panel().map((x) => [x.id, x.user_id, x.status])).toEqual(before.map((x) => [x.id, x.user_id, x.name === 'vm100' ? 'stopped' : x.status]));

        const status = await w.status();
        expect(status.billing.up).toBe(false);
        expect(status.billing.lastError).toMatch(OUTAGE_TEXT[kind]);
        expect(status.lastPasses[0]?.problems.some((p) => /^billing unavailable: /.test(p))).toBe(true);
      } finally {
        await outage.end();
      }
      const { json } = await w.plan();
      expect(json.billing.ok).toBe(true);
      const old101 = before.find((x) => x.name === 'vm101')!.id;
      const old102 = before.find((x) => x.name === 'vm102')!.id;
      expect(summary(json)).toEqual(['create pve1/101', 'create pve1/103', `delete pve1/101 #${old101}`, `delete pve1/102 #${old102}`]);
      expect(await w.counting(() => w.once())).toEqual({ create: 2, update: 0, delete: 2 });
      // The two creates go out in parallel: which one the panel numbers first is not part of the contract.
      expect(w.panel().map((x) => [x.name, x.user_id, x.status]).sort((a, b) => String(a[0]).localeCompare(String(b[0])))).toEqual([
        ['vm100', 3, 'stopped'],
        ['vm101', 7, 'running'],
        ['vm103', 6, 'running'],
      ]);
      expect((await w.status()).billing).toEqual({ up: true, lastError: null });
      expect(await w.counting(() => w.once())).toEqual({ create: 0, update: 0, delete: 0 });
    },
  };
}

/** Registers every billing end-to-end scenario for one driver (skipped, saying why, without its database). */
export function billingEndToEnd(backend: BillingBackend): void {
  if (backend.skipReason !== null) console.warn(`[billing e2e/${backend.driver}] skipped: ${backend.skipReason}`);
  describe.skipIf(backend.skipReason !== null)(`billing end to end on ${backend.driver}`, () => {
    const run = (s: Scenario) => async () => {
      const w = await BillingWorld.start(backend, { ...(s.extraProxmox ? { extraProxmox: s.extraProxmox } : {}), ...(s.query ? { query: s.query } : {}) });
      try {
        await s.run(w);
      } finally {
        await w.stop();
      }
    };
    for (const s of SCENARIOS) it(s.name, run(s));
    for (const kind of OUTAGE_KINDS) {
      const why = backend.unsupported[kind];
      if (why) {
        it.skip(`billing down (${kind}): not applicable — ${why}`, () => undefined);
        continue;
      }
      it(outageScenario(kind).name, run(outageScenario(kind)));
    }
  });
}
