// `run`: the daemon with its HTTP endpoints, until SIGTERM/SIGINT.
import { scheduleWarnings } from '../config/schedule-gap.js';
import type { Config } from '../config/schema.js';
import { systemClock } from '../domain/ports.js';
import { Daemon } from '../engine/daemon.js';
import { createHttpServer } from '../http/index.js';
import { createSyncMetrics } from '../metrics/index.js';
import { COLLECT_AFTER_VMS, fullCollector, limitHeapGrowth } from '../util/heap.js';
import type { Logger } from '../util/logger.js';
import { readVersion } from '../version.js';
import { openForWriting } from './commands.js';
import { listenForSignals, type DaemonSignals } from './signals.js';

/**
 * Runs the daemon until a stop signal; resolves with the exit code. `signals`: listened for since
 * the executable started (src/cli.ts), so that none arriving while it loads ends the process.
 */
export async function runDaemon(config: Config, logger: Logger, signals: DaemonSignals = listenForSignals()): Promise<number> {
  try {
    return await runUntilStopped(config, logger, signals);
  } finally {
    signals.dispose();
  }
}

async function runUntilStopped(config: Config, logger: Logger, signals: DaemonSignals): Promise<number> {
  const version = readVersion();
  limitHeapGrowth();
  const metrics = createSyncMetrics({ version, sources: config.sources.map((s) => s.name) });
  const { lock, runtime } = openForWriting(config, { config, logger, clock: systemClock, observer: metrics });
  const collect = fullCollector();
  const daemon = new Daemon(runtime.deps, { schedule: config.schedule, version, logger, ...(collect ? { collectGarbage: { minVms: COLLECT_AFTER_VMS, collect } } : {}) });
  const http = config.http.listen
    ? createHttpServer({ listen: config.http.listen, adminToken: config.http.adminToken, control: daemon, metrics, logger, readyMaxAgeSeconds: config.http.readyMaxAgeSeconds })
    : null;
  try {
    if (http) {
      const { url } = await http.start();
      logger.info({ url }, `HTTP endpoints on ${url} (/metrics, /healthz, /readyz, /status, POST /resync)`);
      for (const w of scheduleWarnings(config)) logger.warn({ schedule: config.schedule }, w);
    }
  } catch (err) {
    await runtime.close();
    lock.release();
    throw new Error(`cannot listen on http.listen ${config.http.listen}: ${(err as Error).message}`, { cause: err });
  }
  // Stopped while starting: no pass is begun only to be cut short.
  if (!signals.stopRequested()) daemon.start();
  signals.handleHup((early) => {
    const r = daemon.requestPass({ full: true, reason: 'SIGHUP' });
    logger.info({ ...r }, `SIGHUP${early ? ' (while starting)' : ''}: full resync requested`);
  });

  const signal = await signals.stopped;
  signals.stopping(logger);
  // In-flight panel calls end within the panel timeout; give them that and a little more.
  const deadline = config.panel.timeoutMs + 5000;
  logger.info(`${signal}: stopping (no new pass; waiting up to ${deadline} ms for in-flight calls)`);
  const { clean } = await daemon.stop(deadline);
  await http?.stop();
  await runtime.close();
  lock.release();
  logger.info(clean ? 'stopped cleanly' : 'stopped with calls still in flight; they will be recovered at the next start');
  return 0;
}
