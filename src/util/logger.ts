// Builds the pino logger: JSON to stdout (pretty only on a TTY), secrets redacted by path and by value.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** One logging call: fields (optional) and a message. */
export type LogCall = (fieldsOrMessage: object | string, message?: string) => void;

/**
 * The part of a logger a component needs that may run on another thread (billing): a pino
 * logger is one, and so is the billing thread's sink that forwards each line to the engine's.
 */
export interface LogSink {
  debug: LogCall;
  info: LogCall;
  warn: LogCall;
  error: LogCall;
  child(bindings: Record<string, unknown>): LogSink;
}

/** Object paths that must never be logged, whatever object they appear in. */
const REDACT_PATHS = [
  'apiKey', '*.apiKey', 'tokenSecret', '*.tokenSecret', 'password', '*.password', 'adminToken', '*.adminToken',
  'headers["x-api-key"]', 'headers.authorization', '*.headers["x-api-key"]', '*.headers.authorization',
];

export interface LoggerOptions {
  readonly level: LevelWithSilent;
  /** Pretty, human output (defaults to stdout being a TTY). */
  readonly pretty?: boolean;
  /** Destination stream (stdout by default); tests pass their own. */
  readonly destination?: NodeJS.WritableStream;
}

/** Creates the process logger. */
export function createLogger(options: LoggerOptions): Logger {
  const pretty = options.pretty ?? Boolean(process.stdout.isTTY);
  const base = { level: options.level, redact: { paths: REDACT_PATHS, censor: '***' }, base: { service: 'ospab-vps-sync' } };
  if (pretty && !options.destination) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,service' } } });
  }
  return pino(base, options.destination ?? process.stdout);
}
