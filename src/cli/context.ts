// What every command needs first: the validated config and a logger.
import { ConfigError, loadConfig, type LoadedConfig, type SecretGroup } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createLogger, type Logger } from '../util/logger.js';
import { EXIT } from './exit-codes.js';
import type { DaemonSignals } from './signals.js';

/** A command's way out: a message for stderr and an exit code. */
export class CliExit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'CliExit';
  }
}

export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** `run`'s signals, listened for since the executable started (src/cli.ts); else `run` listens itself. */
  readonly signals?: DaemonSignals;
}

/**
 * Loads the config or exits 78 listing every problem. `optionalSecrets`: the secrets this command
 * never uses, so that it works from a shell without the service's credentials (see loadConfig).
 */
export function configOrExit(path: string | undefined, env: NodeJS.ProcessEnv, optionalSecrets: readonly SecretGroup[] = []): LoadedConfig {
  try {
    return loadConfig({ path, env, optionalSecrets });
  } catch (err) {
    if (err instanceof ConfigError) throw new CliExit(EXIT.config, err.message);
    throw err;
  }
}

/** The process logger for a command; `quiet` commands (plan, status) log warnings only, to stderr. */
export function commandLogger(config: Config, io: CliIo, quiet = false): Logger {
  if (quiet) return createLogger({ level: config.log.level === 'silent' ? 'silent' : 'warn', destination: io.stderr, pretty: false });
  // Logs belong to the command's stdout: a caller that passes its own stream (an embedding, the
  // end-to-end tests) gets them there instead of on the process's stdout.
  if (io.stdout !== process.stdout) return createLogger({ level: config.log.level, destination: io.stdout, pretty: false });
  return createLogger({ level: config.log.level });
}
