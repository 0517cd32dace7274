// Argument parsing and dispatch. No logic lives here beyond choosing the command.
import { parseArgs } from 'node:util';
import { ConfigError, ConfigValueError, type SecretGroup } from '../config/load.js';
import { StateLockedError } from '../store/writer-lock.js';
import { errorMessage } from '../util/errors.js';
import { readVersion } from '../version.js';
import { checkConfigCommand, onceCommand, planCommand, resolveCommand, resolveOptions, resyncCommand, statusCommand } from './commands.js';
import { CliExit, commandLogger, configOrExit, type CliIo } from './context.js';
import { EXIT } from './exit-codes.js';
import { USAGE } from './help.js';
import { runDaemon } from './run.js';
import { forgetSourceCommand, renameSourceCommand } from './source-commands.js';
import { isStateFileFailure, stateFileExit } from './state-file.js';

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  json: { type: 'boolean', default: false },
  full: { type: 'boolean', default: false },
  force: { type: 'boolean', default: false },
  local: { type: 'boolean', default: false },
  'panel-id': { type: 'string' },
  recreate: { type: 'boolean', default: false },
  forget: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  version: { type: 'boolean', short: 'v', default: false },
} as const;

/** Which options each command accepts; anything else is a usage error, not silently ignored. */
const ACCEPTS: Record<string, readonly string[]> = {
  run: ['config'],
  once: ['config', 'full', 'force'],
  plan: ['config', 'json', 'full'],
  status: ['config', 'json'],
  'check-config': ['config'],
  resync: ['config', 'full', 'force', 'local'],
  resolve: ['config', 'panel-id', 'recreate', 'forget'],
  'rename-source': ['config'],
  'forget-source': ['config'],
};

/** Positional arguments after the command, where a command takes any. */
const POSITIONALS: Record<string, { readonly count: number; readonly usage: string }> = {
  resolve: { count: 1, usage: 'usage: ospab-vps-sync resolve <source>/<vm id> (--panel-id N | --recreate | --forget)' },
  'rename-source': { count: 2, usage: 'usage: ospab-vps-sync rename-source <old name> <new name>' },
  'forget-source': { count: 1, usage: 'usage: ospab-vps-sync forget-source <name>' },
};

const ALL_SECRETS: readonly SecretGroup[] = ['panel', 'billing', 'sources'];

/**
 * The secrets a command never uses, so it need not find them. Operators run these from a shell,
 * where the service's systemd credentials are not: requiring them would make every one exit 78.
 * `plan` lists the sources and reads billing but never calls the panel; `resync` without --local
 * only calls the daemon (with the admin token, which is optional anyway).
 */
function optionalSecretsOf(command: string, local: boolean): readonly SecretGroup[] {
  if (command === 'plan') return ['panel'];
  if (command === 'run' || command === 'once' || (command === 'resync' && local)) return [];
  return ALL_SECRETS;
}

/** Runs the CLI; resolves with the process exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    // One line saying what is wrong; the whole usage would bury it.
    io.stderr.write(`${(err as Error).message}\nTry "ospab-vps-sync --help".\n`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    io.stdout.write(`${readVersion()}\n`);
    return EXIT.ok;
  }
  const [command, ...rest] = positionals;
  if (values.help || command === 'help') {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (!command) {
    // A usage error: on stderr, so a script piping stdout does not take the usage for output.
    io.stderr.write(`no command given\n\n${USAGE}`);
    return EXIT.usage;
  }
  const accepted = ACCEPTS[command];
  if (!accepted) {
    io.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
    return EXIT.usage;
  }
  const given = Object.entries(values).filter(([k, v]) => v !== undefined && v !== false && k !== 'help' && k !== 'version').map(([k]) => k);
  const wrong = given.filter((k) => !accepted.includes(k));
  if (wrong.length > 0) {
    io.stderr.write(`"${command}" does not take ${wrong.map((w) => `--${w}`).join(', ')}\n`);
    return EXIT.usage;
  }
  const takes = POSITIONALS[command];
  if (rest.length !== (takes?.count ?? 0)) {
    io.stderr.write(takes ? `${takes.usage}\n` : `unexpected argument "${rest[0]}"\n`);
    return EXIT.usage;
  }

  let configPath: string | undefined;
  let stateFile: string | undefined;
  try {
    // Usage first: a wrong command line is 64 whether or not a config can be found.
    const resolveOpts = command === 'resolve' ? resolveOptions(rest[0]!, { panelId: values['panel-id'], recreate: values.recreate, forget: values.forget }) : null;
    const { config, path, missingSecrets } = configOrExit(values.config, io.env, optionalSecretsOf(command, values.local));
    configPath = path;
    stateFile = config.stateFile;
    switch (command) {
      case 'check-config':
        return checkConfigCommand(config, path, missingSecrets, io);
      case 'status':
        return statusCommand(config, { json: values.json }, io);
      case 'resolve':
        return resolveCommand(config, resolveOpts!, io);
      case 'rename-source':
        return renameSourceCommand(config, rest[0]!, rest[1]!, io);
      case 'forget-source':
        return forgetSourceCommand(config, rest[0]!, io);
      case 'plan':
        return await planCommand(config, commandLogger(config, io, true), { json: values.json, full: values.full }, io);
      case 'once':
        return await onceCommand(config, commandLogger(config, io), { full: values.full, force: values.force }, io);
      case 'resync':
        return await resyncCommand(config, commandLogger(config, io), { full: values.full, force: values.force, local: values.local }, io);
      case 'run':
        return await runDaemon(config, commandLogger(config, io), io.signals);
    }
    return EXIT.usage;
  } catch (err) {
    if (err instanceof CliExit) {
      io.stderr.write(`${err.message}\n`);
      return err.code;
    }
    if (err instanceof ConfigError) {
      io.stderr.write(`${err.message}\n`);
      return EXIT.config;
    }
    if (err instanceof ConfigValueError) {
      // A file the config names, found unusable at start-up: a config error like the others.
      io.stderr.write(`${new ConfigError(configPath ?? '(unknown)', [err.message]).message}\n`);
      return EXIT.config;
    }
    if (err instanceof StateLockedError) {
      io.stderr.write(`${err.message}\n`);
      return EXIT.locked;
    }
    // The state file's failures are caught where it is opened; this is the net under them.
    const stateExit = stateFile !== undefined && isStateFileFailure(err) ? stateFileExit(stateFile, err) : undefined;
    if (stateExit) {
      io.stderr.write(`${stateExit.message}\n`);
      return stateExit.code;
    }
    io.stderr.write(`ospab-vps-sync ${command}: ${errorMessage(err)}\n`);
    return EXIT.failure;
  }
}
