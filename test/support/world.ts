// An end-to-end world on loopback: a Proxmox simulator (HTTPS, self-signed), the panel
// simulator, a SQLite billing database in the main site's layout, and a config file that
// points the daemon at them. Tests drive the daemon through its real CLI.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { main } from '../../src/cli/main.js';
import { loadConfig } from '../../src/config/load.js';
import { systemClock } from '../../src/domain/ports.js';
import { nullObserver } from '../../src/engine/observer.js';
import { createRuntime, type Runtime, type RuntimeOptions } from '../../src/runtime.js';
import { createLogger } from '../../src/util/logger.js';
import { PanelSimulator } from '../../src/simulators/panel/index.js';
import { ProxmoxSimulator } from '../../src/simulators/proxmox/index.js';
import type { GuestInput } from '../../src/simulators/proxmox/index.js';
import { seedMainSite, seedStatements, type SeedServer } from '../fixtures/billing/seed.js';

export const API_KEY = 'test-api-key-0123456789abcdef0123456789';
export const TOKEN_ID = 'sync@pve!daemon';
export const TOKEN_SECRET = '0b9f5a2e-3c1d-4e8f-9a7b-1c2d3e4f5a6b';
export const GIB = 1024 ** 3;

export interface WorldOptions {
  /** Overrides merged into the generated config (e.g. guards). */
  readonly config?: Record<string, unknown>;
  /** Start the panel simulator with these known user ids (default: any). */
  readonly knownUserIds?: number[];
  /**
   * Read billing from this database instead of the world's own SQLite file (which is then not
   * created; `bill()` and `billingSql()` refuse). Tests of the network drivers use it.
   */
  readonly billing?: { readonly driver: 'sqlite' | 'mysql' | 'postgres'; readonly url: string };
  /** Names of more Proxmox clusters, each its own simulator (the first one is always `pve1`). */
  readonly extraProxmox?: readonly string[];
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class World {
  readonly dir = mkdtempSync(join(tmpdir(), 'vps-sync-e2e-'));
  readonly pve = new ProxmoxSimulator({ tokens: [{ tokenId: TOKEN_ID, secret: TOKEN_SECRET }] });
  readonly panel: PanelSimulator;
  readonly billingPath = join(this.dir, 'billing.db');
  readonly configPath = join(this.dir, 'config.yaml');
  readonly statePath = join(this.dir, 'state.db');
  private billingDb: Database.Database | null = null;
  private nextServerId = 1;
  private caFile = join(this.dir, 'pve-ca.pem');
  /** The extra Proxmox clusters by source name (see `WorldOptions.extraProxmox`). */
  private readonly extraPve = new Map<string, ProxmoxSimulator>();

  constructor(private readonly options: WorldOptions = {}) {
    this.panel = new PanelSimulator({ apiKey: API_KEY, knownUserIds: options.knownUserIds ?? 'any' });
    for (const name of options.extraProxmox ?? []) {
      if (name === 'pve1' || this.extraPve.has(name)) throw new Error(`World: Proxmox source "${name}" given twice`);
      this.extraPve.set(name, new ProxmoxSimulator({ tokens: [{ tokenId: TOKEN_ID, secret: TOKEN_SECRET }] }));
    }
  }

  /** The Proxmox simulator behind a source name (`pve1` or one of `extraProxmox`). */
  pveOf(source: string): ProxmoxSimulator {
    if (source === 'pve1') return this.pve;
    const sim = this.extraPve.get(source);
    if (!sim) throw new Error(`World: no Proxmox source "${source}"`);
    return sim;
  }

  /** Starts the simulators, creates the billing database and writes the config. */
  async start(): Promise<this> {
    const { caPem } = await this.pve.start();
    writeFileSync(this.caFile, caPem);
    for (const [name, sim] of this.extraPve) writeFileSync(this.extraCaFile(name), (await sim.start()).caPem);
    await this.panel.start();
    if (this.options.billing) {
      this.writeConfig();
      return this;
    }
    this.billingDb = new Database(this.billingPath);
    await seedMainSite((sql) => this.billingDb!.exec(sql), 'sqlite', {
      users: Array.from({ length: 20 }, (_, i) => ({ id: i + 1 })),
      operatingSystems: [{ id: 1, name: 'Ubuntu 22.04 LTS' }, { id: 2, name: 'Debian 12' }],
      tariffs: [{ id: 1 }],
    });
    this.writeConfig();
    return this;
  }

  /** The config the daemon runs with (as a plain object, before YAML). */
  configObject(over: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      stateFile: this.statePath,
      schedule: '*/10 * * * * *',
      panel: { url: this.panel.url, apiKey: API_KEY, timeoutMs: 2000, concurrency: 4 },
      sources: [
        { name: 'pve1', type: 'proxmox', url: this.pve.url, tokenId: TOKEN_ID, tokenSecret: TOKEN_SECRET, tls: { caFile: this.caFile }, timeoutMs: 2000 },
        ...[...this.extraPve].map(([name, sim]) => ({
          name, type: 'proxmox', url: sim.url, tokenId: TOKEN_ID, tokenSecret: TOKEN_SECRET, tls: { caFile: this.extraCaFile(name) }, timeoutMs: 2000,
        })),
      ],
      billing: this.options.billing ? { ...this.options.billing } : { driver: 'sqlite', url: this.billingPath },
      guards: { missingPassesBeforeDelete: 1, maxDeletesPerPass: 20, maxDeleteFraction: 0.5 },
      retry: { baseDelayMs: 1, maxDelayMs: 10, breakerThreshold: 50, breakerCooldownMs: 1 },
      http: { listen: '' },
      log: { level: 'silent' },
      ...this.options.config,
      ...over,
    };
  }

  /** Rewrites the config file (with overrides on top of the world's). */
  writeConfig(over: Record<string, unknown> = {}): void {
    writeFileSync(this.configPath, stringify(this.configObject(over)));
  }

  /** Adds or replaces a guest on a Proxmox simulator (`pve1` unless `source` names another). */
  addVm(input: GuestInput, source = 'pve1'): void {
    this.pveOf(source).inventory.upsert({ node: 'pve-a', type: 'qemu', status: 'running', maxcpu: 2, maxmem: 4 * GIB, maxdisk: 32 * GIB, ...input });
  }

  /** Adds a billing row (`server`) for a VM; returns the server id. */
  bill(vmid: number | null, userId: number, over: Partial<SeedServer> = {}): number {
    this.ownBilling();
    const id = this.nextServerId++;
    for (const sql of seedStatements('sqlite', { servers: [{ id, userId, osId: 1, status: 'active', proxmoxId: vmid, ...over }] })) this.billingDb!.exec(sql);
    return id;
  }

  /** Runs a raw SQL statement on the billing database. */
  billingSql(sql: string): void {
    this.ownBilling();
    this.billingDb!.exec(sql);
  }

  private ownBilling(): void {
    if (this.options.billing) throw new Error('World: billing is an external database here; change its rows through that database');
  }

  private extraCaFile(source: string): string {
    return join(this.dir, `${source}-ca.pem`);
  }

  /**
   * The engine's dependencies on the world's config, as `run` builds them (a silent logger, the
   * system clock, no metrics unless given); the caller closes it.
   */
  runtime(over: Partial<Pick<RuntimeOptions, 'logger' | 'clock' | 'observer'>> = {}): Runtime {
    const config = loadConfig({ path: this.configPath, env: {} }).config;
    return createRuntime({ config, logger: createLogger({ level: 'silent', pretty: false }), clock: systemClock, observer: nullObserver, ...over });
  }

  /** Runs the CLI in-process with the world's config. */
  cli(...args: string[]): Promise<CliResult> {
    return runCli(this.configPath, {}, ...args);
  }

  /** Panel requests counted by the simulator so far, by action. */
  panelRequests(): Record<string, number> {
    return this.panel.stats().byAction as unknown as Record<string, number>;
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.pve.stop(), this.panel.stop(), ...[...this.extraPve.values()].map((sim) => sim.stop())]);
    this.billingDb?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Runs the CLI in-process on `configPath`, with PATH and exactly `env` as its environment. */
export async function runCli(configPath: string, env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, cb) {
        append(String(chunk));
        cb();
      },
    });
  const code = await main([...args, '--config', configPath], { env: { PATH: process.env.PATH, ...env }, stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) });
  return { code, stdout, stderr };
}
