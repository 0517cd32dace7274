// Wiring: turns a validated config into the engine's dependencies. The only place that knows
// every concrete implementation; everything else sees the interfaces in domain/ports.ts.
import { createThreadedBillingSource } from './billing/index.js';
import { ConfigValueError, readCaFile } from './config/load.js';
import { scrub, secretValues } from './config/redact.js';
import type { Config, SourceConfig } from './config/schema.js';
import type { BillingSource, Clock, PanelClient, VmSource } from './domain/ports.js';
import { PanelBreaker } from './engine/breaker.js';
import type { PassObserver } from './engine/observer.js';
import type { EngineDeps, EngineSettings } from './engine/pass.js';
import { createPanelClient } from './panel/index.js';
import { createProxmoxSource } from './sources/proxmox/index.js';
import { createVmwareSource, type DetailPersistence } from './sources/vmware/index.js';
import { StateStore } from './store/state-store.js';
import type { Logger } from './util/logger.js';

/** Builds the source for one configured hypervisor; a vSphere source keeps its VM details in `store`. */
export function createSource(config: SourceConfig, logger: Logger, clock: Clock, store: StateStore, readonly: boolean): VmSource {
  const child = logger.child({ source: config.name });
  return config.type === 'proxmox'
    ? createProxmoxSource(config, { logger: child, clock })
    : createVmwareSource(config, { logger: child, clock, detailPersistence: savedDetails(store, config.name, readonly) });
}

/** The state file's detail cache of one vSphere source; read-only views use it without writing. */
function savedDetails(store: StateStore, source: string, readonly: boolean): DetailPersistence {
  const load = (): ReturnType<DetailPersistence['load']> => store.vsphereDetails.load(source);
  return readonly ? { load } : { load, save: (changes) => store.vsphereDetails.save(source, changes) };
}

/** The panel's CA; a missing or unreadable file is a config error (exit 78): no pass can reach the panel without it. */
function panelCa(config: Config): { ca?: string } {
  if (!config.panel.caFile) return {};
  return { ca: readCaFile('panel.caFile', config.panel.caFile) };
}

/**
 * The state file holds VPSes (or open calls) of a source the config no longer has: it was renamed
 * or removed. Renamed, every VM of the new name would look new and its customer get a second VPS;
 * removed, nothing would ever manage those VPSes. Neither may pass silently: a config error (78)
 * naming the command that settles it.
 */
function refuseUnconfiguredSources(store: StateStore, config: Config): void {
  const configured = new Set(config.sources.map((s) => s.name));
  const gone = store.sourcesInState().filter((s) => !configured.has(s.source));
  if (gone.length === 0) return;
  const what = gone.map((s) => `"${s.source}" (${s.vps} VPS(es))`).join(', ');
  const one = gone[0]!.source;
  throw new ConfigValueError(
    'sources',
    `the state file holds ${what} of source(s) the config no longer has. Renamed? run "ospab-vps-sync rename-source ${one} <new name>" — without it every VM of the new name would be created again, a second VPS for each customer. Removed for good? run "ospab-vps-sync forget-source ${one}" (its VPSes stay on the panel, no longer managed)`,
  );
}

/** Drops the saved VM details of vSphere sources no longer configured: nothing would read them again. */
function forgetUnconfiguredDetails(store: StateStore, config: Config, logger: Logger): void {
  try {
    store.vsphereDetails.retainSources(config.sources.filter((s) => s.type === 'vmware').map((s) => s.name));
  } catch (err) {
    // A cache: leaving stale rows behind costs disk, not correctness.
    logger.warn({ err: (err as Error).message }, 'could not drop the saved VM details of removed vSphere sources');
  }
}

/** The engine's settings from the config. */
export function engineSettings(config: Config): EngineSettings {
  return {
    guards: config.guards,
    retry: { baseDelayMs: config.retry.baseDelayMs, maxDelayMs: config.retry.maxDelayMs },
    concurrency: config.panel.concurrency,
    passTimeoutMs: config.passTimeoutMs,
  };
}

export interface Runtime {
  readonly deps: EngineDeps;
  /** Closes sources (vSphere logout), billing connections, panel sockets and the state file. */
  close(): Promise<void>;
}

export interface RuntimeOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly observer: PassObserver;
  /** Read-only views open the state file read-only and never talk to the panel. */
  readonly readonly?: boolean;
  /** Replaces the panel client (read-only views pass one that refuses to send). */
  readonly panel?: PanelClient;
}

/** Creates every dependency of the engine (no network I/O; the state file is opened). */
export function createRuntime(options: RuntimeOptions): Runtime {
  const { config, logger, clock } = options;
  const secrets = secretValues(config);
  const panelTls = options.panel ? {} : panelCa(config); // before anything is opened: it may throw
  const readonly = options.readonly ?? false;
  const store = new StateStore({ path: config.stateFile, readonly });
  store.open();
  try {
    refuseUnconfiguredSources(store, config);
  } catch (err) {
    store.close();
    throw err;
  }
  if (!readonly) forgetUnconfiguredDetails(store, config, logger);
  const sources = config.sources.map((s) => createSource(s, logger, clock, store, readonly));
  const billing: BillingSource = createThreadedBillingSource(config.billing, { logger });
  const panelClient = options.panel
    ? null
    : createPanelClient({ url: config.panel.url, apiKey: config.panel.apiKey, timeoutMs: config.panel.timeoutMs, concurrency: config.panel.concurrency, logger, ...panelTls });
  const panel: PanelClient = options.panel ?? panelClient!;
  const deps: EngineDeps = {
    sources,
    billing,
    panel,
    store,
    clock,
    logger,
    observer: options.observer,
    breaker: new PanelBreaker({ threshold: config.retry.breakerThreshold, cooldownMs: config.retry.breakerCooldownMs }, clock),
    random: Math.random,
    scrub: (text) => scrub(text, secrets),
    settings: engineSettings(config),
  };
  return {
    deps,
    async close() {
      await Promise.allSettled([...sources.map((s) => s.close()), billing.close()]);
      panelClient?.close();
      store.close();
    },
  };
}
