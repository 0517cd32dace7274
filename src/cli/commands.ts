// The one-shot commands: once, plan, status, check-config, resync, resolve.
import { stringify } from 'yaml';
import { checkCaFiles } from '../config/ca-files.js';
import { ConfigError, missingSecretProblem, secretLookupHint, setAtKey, type MissingSecret } from '../config/load.js';
import { redactConfig } from '../config/redact.js';
import { scheduleWarnings } from '../config/schedule-gap.js';
import type { Config } from '../config/schema.js';
import { systemClock, type PanelClient } from '../domain/ports.js';
import { parseVmKey } from '../domain/types.js';
import { logDrift } from '../engine/daemon.js';
import { nullObserver } from '../engine/observer.js';
import { dryRun, runPass } from '../engine/pass.js';
import { parseListen, formatUrl } from '../http/index.js';
import { createRuntime, type Runtime, type RuntimeOptions } from '../runtime.js';
import { PanelIdTakenError, StateStore } from '../store/state-store.js';
import { acquireWriterLock, type WriterLock } from '../store/writer-lock.js';
import { errorMessage } from '../util/errors.js';
import { limitHeapGrowth } from '../util/heap.js';
import type { Logger } from '../util/logger.js';
import { readVersion } from '../version.js';
import { CliExit, type CliIo } from './context.js';
import { EXIT } from './exit-codes.js';
import { formatPlan, joinWords, planJson, unknownParts } from './format-plan.js';
import { formatStatus, statusFromStore } from './format-status.js';
import { emptyStateFile, giveToStateOwner, inspectStateFile, withStateFile } from './state-file.js';

/**
 * `once`: one pass; exit 0 when it did everything it could. What waits for a person from earlier
 * passes (an ambiguous create, a held delete, a payload the panel rejected) is reported, not an
 * error of this pass; a create this run found ambiguous (the last run stopped mid-call) is.
 */
export async function onceCommand(config: Config, logger: Logger, opts: { full: boolean; force: boolean }, io: CliIo): Promise<number> {
  limitHeapGrowth();
  const { lock, runtime } = openForWriting(config, { config, logger, clock: systemClock, observer: nullObserver });
  try {
    const recovered = runtime.deps.store.recoverInFlight(systemClock.now());
    if (recovered.ambiguous > 0) logger.error(`${recovered.ambiguous} create(s) were in flight when the last run stopped; they are now ambiguous (see "status")`);
    const stop = new AbortController();
    const onSignal = (): void => stop.abort();
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    const report = await runPass(runtime.deps, { full: opts.full, force: opts.force }, stop.signal);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    // A one-shot pass has no previous pass to compare with: every drift item is news.
    logDrift(logger, report.planned?.drift ?? []);
    const s = report.summary;
    io.stdout.write(`pass ${s.id} ${s.result}: ${s.actions.ok}/${s.actions.planned} sent ok, ${s.actions.failed} failed, ${s.actions.ambiguous} ambiguous (${s.durationSeconds}s)\n`);
    for (const p of s.problems) io.stdout.write(`  ${p}\n`);
    return s.result === 'success' && recovered.ambiguous === 0 ? EXIT.ok : EXIT.failure;
  } finally {
    await runtime.close();
    lock.release();
  }
}

/**
 * Takes the writer lock, then builds the runtime. When the runtime cannot be built (an
 * unreadable panel.caFile, a state file that does not open) the lock is released again, so an
 * embedding process, or the next command in it, is not locked out by a command that never started.
 */
export function openForWriting(config: Config, options: RuntimeOptions): { lock: WriterLock; runtime: Runtime } {
  inspectStateFile(config.stateFile);
  const lock = withStateFile(config.stateFile, () => acquireWriterLock(config.stateFile));
  try {
    const runtime = withStateFile(config.stateFile, () => createRuntime(options));
    giveToStateOwner(config.stateFile);
    warnSharedPanelIds(runtime.deps.store, options.logger);
    return { lock, runtime };
  } catch (err) {
    lock.release();
    throw err;
  }
}

/** Says at start-up, once, when the state file holds panel ids that two VMs claim (see `sharedPanelIds`). */
function warnSharedPanelIds(store: StateStore, logger: Logger): void {
  const shared = store.sharedPanelIds(20);
  if (shared.length === 0) return;
  logger.warn(
    { sharedPanelIds: shared },
    `${shared.length === 20 ? '20 or more' : shared.length} panel id(s) are held by more than one VM in the state file (${describeShared(shared.slice(0, 3))}${shared.length > 3 ? ', …' : ''}): ` +
      'check on the panel which VM each VPS is, then "ospab-vps-sync resolve <source>/<id> --forget" the other (see "ospab-vps-sync status")',
  );
}

/** `#17: pve1/100 and pve1/205`. */
function describeShared(shared: ReadonlyArray<{ panelId: number; keys: readonly string[] }>): string {
  return shared.map((s) => `#${s.panelId}: ${joinWords(s.keys)}`).join('; ');
}

/** A panel that refuses every call: dry runs must never reach the panel. */
const refusingPanel: PanelClient = {
  create: () => Promise.reject(new Error('dry run: no panel calls')),
  update: () => Promise.reject(new Error('dry run: no panel calls')),
  delete: () => Promise.reject(new Error('dry run: no panel calls')),
};

/**
 * `plan`: the dry run (0 no changes, 2 changes, 1 error or incomplete). A plan missing a source,
 * guests of a node that reports nothing, or billing still prints what it could plan, but exits 1:
 * it cannot say whether the panel matches.
 */
export async function planCommand(config: Config, logger: Logger, opts: { json: boolean; full: boolean }, io: CliIo): Promise<number> {
  // Before the first pass there is no state file: plan against an empty snapshot.
  const found = inspectStateFile(config.stateFile);
  if (found === 'empty') throw emptyStateFile(config.stateFile);
  const planConfig = found === 'present' ? config : { ...config, stateFile: ':memory:' };
  const runtime = withStateFile(config.stateFile, () => createRuntime({ config: planConfig, logger, clock: systemClock, observer: nullObserver, readonly: planConfig.stateFile !== ':memory:', panel: refusingPanel }));
  try {
    const planned = await dryRun(runtime.deps, { full: opts.full }, AbortSignal.timeout(config.passTimeoutMs));
    io.stdout.write(opts.json ? `${JSON.stringify(planJson(planned), null, 2)}\n` : formatPlan(planned));
    const unknown = unknownParts(planned);
    if (unknown.length > 0) {
      io.stderr.write(`plan is incomplete: ${joinWords(unknown.map((u) => u.why))}; what is shown is what could be planned without ${unknown.length === 1 ? 'it' : 'them'}, and the panel may differ in more\n`);
      return EXIT.failure;
    }
    return planned.gated.send.length > 0 ? EXIT.changes : EXIT.ok;
  } finally {
    await runtime.close();
  }
}

/** `status`: what the state file says about recent passes. */
export function statusCommand(config: Config, opts: { json: boolean }, io: CliIo): number {
  const found = inspectStateFile(config.stateFile);
  if (found === 'missing') {
    throw new CliExit(EXIT.failure, `no state file at ${config.stateFile} yet: the daemon has not run a pass (start it, or run "ospab-vps-sync once")`);
  }
  if (found === 'empty') throw emptyStateFile(config.stateFile);
  const store = new StateStore({ path: config.stateFile, readonly: true });
  withStateFile(config.stateFile, () => store.open());
  try {
    const status = statusFromStore(store, config, readVersion());
    io.stdout.write(opts.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status, store.openOutbox()));
    return EXIT.ok;
  } finally {
    store.close();
  }
}

/**
 * `check-config`: the effective config, secrets masked. The CA files it names are read too: a
 * missing one or one without a certificate is a config error (78) as at start-up; one this user
 * may not read is only a warning, since the service's user may.
 *
 * Secrets: one that is found is validated like the rest. One that is not found is a config error
 * where the service would look for it too — $CREDENTIALS_DIRECTORY is set, as under
 * `systemd-run -p LoadCredential=…` — and otherwise (a shell, where the service's credentials are
 * not) a note naming where it was looked for: the file is checked before the credentials exist.
 */
export function checkConfigCommand(config: Config, path: string, missing: readonly MissingSecret[], io: CliIo): number {
  const files = checkCaFiles(config);
  const problems = [...files.problems];
  const withCredentials = io.env.CREDENTIALS_DIRECTORY !== undefined && io.env.CREDENTIALS_DIRECTORY !== '';
  if (withCredentials) problems.push(...missing.map(missingSecretProblem));
  if (problems.length > 0) throw new ConfigError(path, problems);
  for (const w of files.unreadable) {
    io.stderr.write(`warning: ${w} — as this user (uid ${process.getuid?.() ?? '?'}); the service's user must be able to read it (with DynamicUser=yes keep it world-readable, e.g. 0644 in /etc/ospab-vps-sync)\n`);
  }
  for (const m of missing) io.stderr.write(`note: ${m.key}: secret ${m.name} not found here, so not checked — ${m.looked}\n`);
  for (const w of scheduleWarnings(config)) io.stderr.write(`warning: ${w}\n`);
  const shown = redactConfig(config) as Record<string, unknown>;
  for (const m of missing) setAtKey(shown, m.key, `(not found here: ${m.name})`);
  const note = missing.length > 0 ? ` (secrets not checked, not found here: ${missing.map((m) => m.name).join(', ')})` : '';
  io.stdout.write(`# ${path}: valid${note}\n${stringify(shown)}`);
  return EXIT.ok;
}

/** `resync`: asks the running daemon for a pass, or with --local runs one here. */
export async function resyncCommand(config: Config, logger: Logger, opts: { full: boolean; force: boolean; local: boolean }, io: CliIo): Promise<number> {
  // No daemon to ask: the same single pass as `once` (it takes the writer lock, so it refuses if a daemon does run).
  if (opts.local) return onceCommand(config, logger, { full: opts.full, force: opts.force }, io);
  if (!config.http.listen) throw new CliExit(EXIT.failure, 'http.listen is empty, so the daemon has no endpoint to ask; use --local when it is not running');
  if (!config.http.adminToken) {
    throw new CliExit(
      EXIT.failure,
      `no admin token configured here (http.adminToken, or the secret VPS_SYNC_ADMIN_TOKEN: ${secretLookupHint('VPS_SYNC_ADMIN_TOKEN', io.env)}); resync sends the daemon's own token, so give this command the same one (docs/operations.md#full-resync), or use --local when no daemon runs`,
    );
  }
  const { host, port } = parseListen(config.http.listen);
  const connectHost = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const query = [opts.full ? 'full=1' : '', opts.force ? 'force=1' : ''].filter(Boolean).join('&');
  const url = `${formatUrl(connectHost, port)}/resync${query ? `?${query}` : ''}`;
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${config.http.adminToken}` }, signal: AbortSignal.timeout(5000) });
  } catch (err) {
    throw new CliExit(EXIT.failure, `cannot reach the daemon at ${url} (${errorMessage(err)}); is it running? Use --local to run the pass here instead`);
  }
  const body = await res.text();
  if (res.status !== 202) throw new CliExit(EXIT.failure, `the daemon answered ${res.status}: ${body.slice(0, 200)}`);
  // A daemon that is stopping accepts the request and queues nothing: not a success for a script.
  if (/"queued"\s*:\s*false/.test(body)) throw new CliExit(EXIT.failure, `the daemon is stopping and queued no pass (${body.trim()}); ask again once it runs, or use --local when no daemon runs`);
  io.stdout.write(`${opts.full ? 'full resync' : 'pass'}${opts.force ? ' with the delete guards lifted' : ''} requested: ${body.trim()}\n`);
  return EXIT.ok;
}

export interface ResolveOptions {
  readonly key: string;
  readonly panelId?: number;
  readonly recreate: boolean;
  readonly forget: boolean;
}

/** `resolve`'s arguments, checked before the config is loaded: a usage mistake is 64 even without a config. */
export function resolveOptions(key: string, raw: { panelId: string | undefined; recreate: boolean; forget: boolean }): ResolveOptions {
  try {
    parseVmKey(key);
  } catch (err) {
    throw new CliExit(EXIT.usage, (err as Error).message);
  }
  // Digits only: Number() would also take "0x77", "1e2" and " 5", adopting a VPS nobody typed.
  if (raw.panelId !== undefined && (!/^[1-9][0-9]*$/.test(raw.panelId) || !Number.isSafeInteger(Number(raw.panelId)))) {
    throw new CliExit(EXIT.usage, `--panel-id must be the panel's VPS id, a positive whole number in decimal digits (e.g. 57), got "${raw.panelId}"`);
  }
  const panelId = raw.panelId === undefined ? undefined : Number(raw.panelId);
  const chosen = [panelId !== undefined, raw.recreate, raw.forget].filter(Boolean).length;
  if (chosen !== 1) throw new CliExit(EXIT.usage, 'resolve needs exactly one of --panel-id N, --recreate, --forget');
  return { key, ...(panelId !== undefined ? { panelId } : {}), recreate: raw.recreate, forget: raw.forget };
}

/** adoptAmbiguous, with a refusal an operator can act on when the id is another VM's. */
function adopt(store: StateStore, key: string, panelId: number, now: number): boolean {
  try {
    return store.adoptAmbiguous(key, panelId, now);
  } catch (err) {
    if (!(err instanceof PanelIdTakenError)) throw err;
    throw new CliExit(
      EXIT.failure,
      `${err.message}: adopting it for ${key} would give one customer's VPS to another. Check VPS #${panelId} on the panel (its name and owner); if ${err.heldBy}'s entry is the wrong one, run "ospab-vps-sync resolve ${err.heldBy} --forget" first`,
    );
  }
}

/** `resolve`: settles an ambiguous create. Safe beside a running daemon (one small transaction). */
export function resolveCommand(config: Config, opts: ResolveOptions, io: CliIo): number {
  const { key } = opts;
  if (inspectStateFile(config.stateFile) === 'missing') throw new CliExit(EXIT.failure, `no state file at ${config.stateFile}`);
  const store = new StateStore({ path: config.stateFile });
  withStateFile(config.stateFile, () => store.open());
  giveToStateOwner(config.stateFile);
  try {
    const now = systemClock.now();
    if (opts.panelId !== undefined) {
      if (!adopt(store, key, opts.panelId, now)) throw new CliExit(EXIT.failure, `${key} has no ambiguous create to adopt (see "ospab-vps-sync status")`);
      io.stdout.write(`${key}: adopted panel VPS #${opts.panelId}; the next pass updates it if needed\n`);
    } else if (opts.recreate) {
      if (!store.retryAmbiguous(key, now)) throw new CliExit(EXIT.failure, `${key} has no ambiguous create to retry (see "ospab-vps-sync status")`);
      io.stdout.write(`${key}: the create will be sent again on the next pass\n`);
    } else {
      const hadAmbiguousCreate = store.openOutbox().some((i) => i.key === key && i.state === 'ambiguous');
      if (!store.forget(key)) throw new CliExit(EXIT.failure, `nothing is known locally about ${key}`);
      io.stdout.write(`${key}: forgotten locally (the panel was not touched); the next pass plans it from scratch\n`);
      if (hadAmbiguousCreate) {
        io.stderr.write(
          `warning: ${key} had an ambiguous create. If its VM still runs and is billed, the next pass creates its VPS again: a second VPS if the panel has the first — delete that copy on the panel before the next pass (to keep it, "resolve --panel-id N" was the way)\n`,
        );
      }
    }
    return EXIT.ok;
  } finally {
    store.close();
  }
}
