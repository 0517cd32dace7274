// The benchmark's world for one size: the Proxmox, vSphere and panel simulators each in its own
// process, a SQLite billing database in the main site's layout owning every VM, and the daemon's
// config file. Also drives the drift and reads the simulators' request counters.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { mainSiteSchema } from '../simulators/billing/main-site.js';
import { spawnReady, type ReadyChild } from './child.js';
import { ControlClient } from './http.js';
import { API_KEY, TOKEN_ID, TOKEN_SECRET, VC_PASSWORD, VC_USER, type Layout } from './layout.js';

interface Ready {
  readonly url: string;
  readonly caFile?: string | null;
}

interface SimGuestLite {
  readonly vmid: number;
  readonly template: 0 | 1;
  readonly status: 'running' | 'stopped' | 'paused';
}

/** Requests each system received, as the simulators counted them. */
export interface RequestCounts {
  /** `GET /cluster/resources` (and anything else) per Proxmox cluster. */
  readonly proxmox: Record<string, number>;
  /** vCenter calls by operation (`vm.list`, `vm.get`, `host.list`, …); empty without vSphere. */
  readonly vsphere: Record<string, number>;
  /** Panel sync requests by action. */
  readonly panel: Record<string, number>;
  readonly panelTotal: number;
}

/** Which VMs the drift step changed. */
export interface DriftPlan {
  readonly statusChanges: number;
  readonly deletes: number;
  readonly creates: number;
  readonly vspherePowerChanges: number;
}

const OSES = ['Ubuntu 22.04 LTS', 'Debian 12', 'AlmaLinux 9', 'Windows Server 2022'];

/** Everything one size of the benchmark runs against. */
export class BenchWorld {
  readonly configPath: string;
  readonly statePath: string;
  readonly billingPath: string;
  private readonly children: ReadyChild<Ready>[] = [];
  private pve: { part: Layout['proxmox'][number]; child: ReadyChild<Ready>; control: ControlClient; guests: SimGuestLite[] }[] = [];
  private vc: { child: ReadyChild<Ready>; control: ControlClient; vmIds: string[] } | null = null;
  private panelChild: ReadyChild<Ready> | null = null;
  private panelControl: ControlClient | null = null;
  private billing: Database.Database | null = null;
  private nextServerId = 1;
  private users = 1;

  constructor(
    readonly layout: Layout,
    readonly dir: string,
    private readonly dist: string,
    private readonly concurrency: number | undefined,
    /** Every sync call the panel simulator answers waits this long first (0: as fast as it can). */
    private readonly panelLatencyMs = 0,
  ) {
    mkdirSync(dir, { recursive: true });
    this.configPath = join(dir, 'config.yaml');
    this.statePath = join(dir, 'state.db');
    this.billingPath = join(dir, 'billing.db');
  }

  /** The panel simulator's base URL. */
  get panelUrl(): string {
    return this.panelChild!.ready.url;
  }

  /** What the floors need to reach the sources the same way the daemon does. */
  get sourceEndpoints(): { proxmox: { url: string; caFile: string }[]; vsphere: { url: string; caFile: string; vms: number } | null } {
    return {
      proxmox: this.pve.map((p) => ({ url: p.child.ready.url, caFile: p.child.ready.caFile! })),
      vsphere: this.vc ? { url: this.vc.child.ready.url, caFile: this.vc.child.ready.caFile!, vms: this.vc.vmIds.length } : null,
    };
  }

  /** Starts the simulators, seeds them and the billing database, and writes the config. */
  async start(): Promise<void> {
    const log = (name: string) => ({ logFile: join(this.dir, `${name}.log`), timeoutMs: 120_000 });
    const starts: Promise<void>[] = [];
    for (const part of this.layout.proxmox) {
      starts.push(
        (async () => {
          const child = await spawnReady<Ready>(join(this.dist, 'simulators/proxmox/main.js'), ['--vms', '0', '--token-id', TOKEN_ID, '--token-secret', TOKEN_SECRET], log(part.name));
          this.children.push(child);
          const control = new ControlClient(child.ready.url, child.ready.caFile);
          await control.json('POST', '/_sim/seed', { n: part.vms, nodes: [...part.nodes], seed: part.seed, startVmid: part.startVmid });
          const { guests } = await control.json<{ guests: SimGuestLite[] }>('GET', '/_sim/guests');
          this.pve.push({ part, child, control, guests: guests.map((g) => ({ vmid: g.vmid, template: g.template, status: g.status })) });
        })(),
      );
    }
    if (this.layout.vsphereVms > 0) {
      starts.push(
        (async () => {
          const args = ['--vms', String(this.layout.vsphereVms), '--clusters', String(this.layout.vsphereClusters), '--hosts-per-cluster', String(this.layout.vsphereHostsPerCluster), '--username', VC_USER, '--password', VC_PASSWORD, '--seed', '5'];
          const child = await spawnReady<Ready>(join(this.dist, 'simulators/vsphere/main.js'), args, log('vc1'));
          this.children.push(child);
          const control = new ControlClient(child.ready.url, child.ready.caFile);
          this.vc = { child, control, vmIds: await listVsphereIds(control) };
          await control.json('POST', '/_sim/counters/reset');
        })(),
      );
    }
    starts.push(
      (async () => {
        this.panelChild = await spawnReady<Ready>(join(this.dist, 'simulators/panel/main.js'), ['--api-key', API_KEY], log('panel'));
        this.children.push(this.panelChild);
        this.panelControl = new ControlClient(this.panelChild.ready.url);
        await this.installPanelLatency();
      })(),
    );
    await Promise.all(starts);
    this.pve.sort((x, y) => x.part.name.localeCompare(y.part.name));
    this.seedBilling();
    this.writeConfig();
  }

  /** Every listed VM gets a `server` row (templates are never pushed, so they get none). */
  private seedBilling(): void {
    const db = new Database(this.billingPath);
    this.billing = db;
    db.pragma('journal_mode = WAL');
    for (const sql of mainSiteSchema('sqlite')) db.exec(sql);
    const vmIds: (number | string)[] = [];
    for (const p of this.pve) for (const g of p.guests) if (g.template === 0) vmIds.push(g.vmid);
    for (const id of this.vc?.vmIds ?? []) vmIds.push(id);
    this.users = Math.max(50, Math.ceil(vmIds.length / 20));
    db.transaction(() => {
      const user = db.prepare('INSERT INTO "user" (id, email, username, password) VALUES (?, ?, ?, ?)');
      for (let u = 1; u <= this.users; u++) user.run(u, `user${u}@bench.test`, `user${u}`, 'bcrypt-hash-not-a-secret');
      const os = db.prepare('INSERT INTO "operatingsystem" (id, name, type) VALUES (?, ?, ?)');
      OSES.forEach((name, i) => os.run(i + 1, name, name.startsWith('Windows') ? 'windows' : 'linux'));
      db.prepare('INSERT INTO "tariff" (id, name, price) VALUES (1, ?, 300)').run('VPS S');
      for (const id of vmIds) this.insertServer(id);
    })();
  }

  // The main site stores Proxmox VMIDs in server.proxmoxId; SQLite keeps a vSphere id (`vm-1003`)
  // there as text, which the built-in query passes through as vm_id (the row contract accepts it).
  private insertServer(vmId: number | string): void {
    const id = this.nextServerId++;
    const status = id % 97 === 0 ? 'suspended' : 'active';
    this.billing!.prepare('INSERT INTO "server" (id, "userId", "tariffId", "osId", status, "proxmoxId") VALUES (?, ?, 1, ?, ?, ?)').run(
      id, ((id - 1) % this.users) + 1, (id % OSES.length) + 1, status, vmId,
    );
  }

  private writeConfig(): void {
    const sources: Record<string, unknown>[] = this.pve.map((p) => ({
      name: p.part.name,
      type: 'proxmox',
      url: p.child.ready.url,
      tokenId: TOKEN_ID,
      tokenSecret: TOKEN_SECRET,
      tls: { caFile: p.child.ready.caFile },
    }));
    if (this.vc) {
      sources.push({ name: 'vc1', type: 'vmware', url: this.vc.child.ready.url, username: VC_USER, password: VC_PASSWORD, tls: { caFile: this.vc.child.ready.caFile }, apiFlavor: 'api' });
    }
    const config = {
      stateFile: this.statePath,
      // Passes are triggered by the benchmark, not by the clock.
      schedule: '0 0 1 1 *',
      panel: { url: this.panelUrl, apiKey: API_KEY, ...(this.concurrency !== undefined ? { concurrency: this.concurrency } : {}) },
      sources,
      billing: { driver: 'sqlite', url: this.billingPath },
      // Deletes go out in the measured drift pass instead of three passes later; no per-pass cap.
      guards: { missingPassesBeforeDelete: 1, maxDeletesPerPass: 100_000, maxDeleteFraction: 0.1 },
      http: { listen: '' },
      log: { level: 'info' },
    };
    writeFileSync(this.configPath, stringify(config));
  }

  /** Reads every simulator's counters. */
  async counts(): Promise<RequestCounts> {
    const proxmox: Record<string, number> = {};
    for (const p of this.pve) {
      const c = await p.control.json<{ total: number }>('GET', '/_sim/counters');
      proxmox[p.part.name] = c.total;
    }
    const vsphere = this.vc ? await this.vc.control.json<Record<string, number>>('GET', '/_sim/counters') : {};
    const stats = await this.panelControl!.json<{ total: number; byAction: Record<string, number> }>('GET', '/_sim/stats');
    return { proxmox, vsphere, panel: stats.byAction, panelTotal: stats.total };
  }

  /** Zeroes the source simulators' counters (the panel's are read as differences: resetting them would empty its table). */
  async resetSourceCounters(): Promise<void> {
    for (const p of this.pve) await p.control.json('POST', '/_sim/counters/reset');
    if (this.vc) await this.vc.control.json('POST', '/_sim/counters/reset');
  }

  /** Empties the panel simulator (after the load generator filled it). */
  async resetPanel(): Promise<void> {
    await this.panelControl!.json('POST', '/_sim/reset', {});
    await this.installPanelLatency();
  }

  /**
   * A real panel answers in milliseconds (a Go handler, a MySQL INSERT committed, a network hop),
   * so its throughput at concurrency c is about c / latency; a sticky slowMs fault (the simulator
   * commits, waits, then answers) puts that on every call. A reset removes faults, so it is
   * installed again after each.
   */
  private async installPanelLatency(): Promise<void> {
    if (this.panelLatencyMs > 0) await this.panelControl!.json('POST', '/_sim/faults', { mode: 'slowMs', ms: this.panelLatencyMs });
  }

  /** Deletes the daemon's state file (with its WAL and shared-memory files); only while no daemon runs. */
  removeState(): void {
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${this.statePath}${suffix}`, { force: true });
  }

  /** CPU time the panel simulator's process has used so far (ms, user + system). */
  async panelCpuMs(): Promise<number> {
    return (await this.panelControl!.json<{ cpuMicros: number }>('GET', '/_sim/process')).cpuMicros / 1000;
  }

  /** Rows in the panel simulator's table. */
  async panelRows(): Promise<number> {
    return (await this.panelControl!.json<{ rows: number }>('GET', '/_sim/stats')).rows;
  }

  /**
   * 1% drift: 0.8% of Proxmox guests change power state, 0.1% disappear, 0.1% new billed guests
   * appear, and 1% of the vSphere VMs change power state.
   */
  async applyDrift(): Promise<DriftPlan> {
    let statusChanges = 0;
    let deletes = 0;
    let creates = 0;
    for (const p of this.pve) {
      const live = p.guests.filter((g) => g.template === 0);
      const flips = live.filter((_, i) => i % 125 === 7);
      const gone = live.filter((_, i) => i % 1000 === 500);
      const count = Math.max(1, Math.round(live.length / 1000));
      const maxVmid = p.guests.reduce((m, g) => Math.max(m, g.vmid), p.part.startVmid);
      const born = Array.from({ length: count }, (_, i) => maxVmid + 1 + i);
      await p.control.each(flips, 8, (g) => p.control.json('PATCH', `/_sim/guests/${g.vmid}`, { status: g.status === 'running' ? 'stopped' : 'running' }));
      await p.control.each(gone, 8, (g) => p.control.json('DELETE', `/_sim/guests/${g.vmid}`));
      await p.control.each(born, 8, (vmid) =>
        p.control.json('POST', '/_sim/guests', { vmid, node: p.part.nodes[vmid % p.part.nodes.length], name: `new-${vmid}.example.net`, maxcpu: 2, maxmem: 2 * 1024 ** 3, maxdisk: 40 * 1024 ** 3 }),
      );
      this.billing!.transaction(() => born.forEach((vmid) => this.insertServer(vmid)))();
      statusChanges += flips.length;
      deletes += gone.length;
      creates += born.length;
    }
    let vspherePowerChanges = 0;
    if (this.vc) {
      const vc = this.vc;
      const flips = vc.vmIds.filter((_, i) => i % 100 === 3);
      await vc.control.each(flips, 8, (id) => vc.control.json('POST', `/_sim/vms/${id}/power`, { state: 'POWERED_OFF' }));
      vspherePowerChanges = flips.length;
    }
    return { statusChanges, deletes, creates, vspherePowerChanges };
  }

  /** Stops every simulator and closes the billing database. */
  async stop(): Promise<void> {
    await Promise.allSettled([...this.pve.map((p) => p.control.close()), this.vc?.control.close(), this.panelControl?.close()]);
    await Promise.allSettled(this.children.map((c) => c.stop()));
    this.billing?.close();
  }
}

/** The ids of every vCenter VM, read through the REST API the daemon uses (one listing per host). */
async function listVsphereIds(control: ControlClient): Promise<string[]> {
  const auth = `Basic ${Buffer.from(`${VC_USER}:${VC_PASSWORD}`).toString('base64')}`;
  const session = await control.json<string>('POST', '/api/session', undefined, { authorization: auth });
  const headers = { 'vmware-api-session-id': session };
  const hosts = await control.json<{ host: string }[]>('GET', '/api/vcenter/host', undefined, headers);
  const ids: string[] = [];
  for (const h of hosts) {
    const vms = await control.json<{ vm: string }[]>('GET', `/api/vcenter/vm?hosts=${encodeURIComponent(h.host)}`, undefined, headers);
    for (const v of vms) ids.push(v.vm);
  }
  await control.json('DELETE', '/api/session', undefined, headers);
  return ids.sort();
}
