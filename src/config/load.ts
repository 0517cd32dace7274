// Reads the config file, lays environment overrides and secrets over it, validates it,
// and reports every problem at once with its path (exit 78, EX_CONFIG, is the caller's job).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { withAbsolutePaths } from './paths.js';
import { configSchema, type Config } from './schema.js';

export const DEFAULT_CONFIG_PATH = '/etc/ospab-vps-sync/config.yaml';

/** Thrown when the configuration cannot be used; `problems` lists each with its path. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`config ${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * A key that passed validation but cannot be used when a command starts: a file it names is
 * missing, unreadable or not what it must hold. Also exit 78 — restarting cannot fix it.
 * (`check-config` reads them too, but takes "permission denied" for a warning: it may run as
 * another user than the service.)
 */
export class ConfigValueError extends Error {
  constructor(
    readonly key: string,
    readonly problem: string,
    /** The errno code when the file could not be read (`EACCES`, `ENOENT`, …). */
    readonly code?: string,
  ) {
    super(`${key}: ${problem}`);
    this.name = 'ConfigValueError';
  }
}

/** Why a file could not be read, in words (the errno code alone for the rare others). */
function unreadable(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return code ?? (err as Error).message;
}

/** Reads a PEM CA file a key names, or throws `ConfigValueError` naming the key, the file and why. */
export function readCaFile(key: string, path: string, read: (p: string) => string = (p) => readFileSync(p, 'utf8')): string {
  let text: string;
  try {
    text = read(path);
  } catch (err) {
    throw new ConfigValueError(key, `cannot read ${path}: ${unreadable(err)}`, (err as NodeJS.ErrnoException).code);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigValueError(key, `${path} holds no PEM certificate (expected "-----BEGIN CERTIFICATE-----")`);
  return text;
}

export interface ConfigInputs {
  /** `--config` from the command line, if given. */
  readonly path?: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly readFile?: (path: string) => string;
}

/** Picks the config path: `--config`, else `$OSPAB_VPS_SYNC_CONFIG`, else the default. */
export function resolveConfigPath(path: string | undefined, env: NodeJS.ProcessEnv): string {
  return path ?? (env.OSPAB_VPS_SYNC_CONFIG || DEFAULT_CONFIG_PATH);
}

/** The env variable name that carries a source's secret, e.g. `pve-1` → `PVE_1_TOKEN_SECRET`. */
export function sourceSecretEnvName(sourceName: string, field: 'tokenSecret' | 'password'): string {
  const stem = sourceName.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  return `${stem}_${field === 'tokenSecret' ? 'TOKEN_SECRET' : 'PASSWORD'}`;
}

/** Loads and validates the configuration; throws `ConfigError` listing every problem. */
export function loadConfig(inputs: ConfigInputs): { config: Config; path: string } {
  const path = resolveConfigPath(inputs.path, inputs.env);
  const read = inputs.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  let text: string;
  try {
    text = read(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : String((err as Error).message);
    throw new ConfigError(path, [`cannot read the config file: ${why} (set --config or OSPAB_VPS_SYNC_CONFIG)`]);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(path, doc.errors.map((e) => `not valid YAML/JSON: ${e.message.split('\n')[0]}`));
  }
  const raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(path, ['the top level must be a mapping (stateFile, panel, sources, billing, ...)']);
  }
  const problems: string[] = [];
  const merged = applyOverrides(raw as Record<string, unknown>, inputs.env, read, problems);
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${formatPath(issue.path)}: ${issueMessage(issue)}`);
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(path, problems);
  return { config: withAbsolutePaths(parsed.data, path), path };
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

function issueMessage(issue: { code: string; message: string; keys?: readonly string[] }): string {
  if (issue.code === 'unrecognized_keys' && issue.keys) return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  // zod's default for a missing field is "Invalid input: expected string, received undefined".
  if (/received undefined/.test(issue.message)) return 'is required';
  return issue.message;
}

/** Reads a secret from `NAME`, `NAME_FILE` or `$CREDENTIALS_DIRECTORY/NAME` (first found wins). */
export function readSecret(name: string, env: NodeJS.ProcessEnv, read: (p: string) => string, problems: string[]): string | undefined {
  const direct = env[name];
  if (direct !== undefined && direct !== '') return direct;
  const file = env[`${name}_FILE`];
  if (file) {
    try {
      return read(file).replace(/\r?\n$/, '');
    } catch (err) {
      problems.push(`${name}_FILE: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      return undefined;
    }
  }
  const credDir = env.CREDENTIALS_DIRECTORY;
  if (credDir) {
    for (const candidate of [name, name.toLowerCase()]) {
      try {
        return read(join(credDir, candidate)).replace(/\r?\n$/, '');
      } catch {
        // not provided as a credential under this name
      }
    }
  }
  return undefined;
}

function applyOverrides(
  raw: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  read: (p: string) => string,
  problems: string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw };
  const section = (key: string): Record<string, unknown> => {
    const v = out[key];
    const copy = typeof v === 'object' && v !== null && !Array.isArray(v) ? { ...(v as Record<string, unknown>) } : v === undefined ? {} : null;
    if (copy === null) return {}; // wrong type: leave it for the schema to report
    out[key] = copy;
    return copy;
  };
  const setIf = (obj: Record<string, unknown>, key: string, value: string | undefined): void => {
    if (value !== undefined) obj[key] = value;
  };

  const panel = section('panel');
  if (env.OSPAB_PANEL_URL) panel.url = env.OSPAB_PANEL_URL;
  setIf(panel, 'apiKey', readSecret('VPS_SYNC_API_KEY', env, read, problems));

  if (env.BILLING_DATABASE_URL !== undefined || env.BILLING_DATABASE_URL_FILE !== undefined || raw.billing !== undefined) {
    const billing = section('billing');
    setIf(billing, 'url', readSecret('BILLING_DATABASE_URL', env, read, problems));
  }
  if (raw.http !== undefined || env.VPS_SYNC_ADMIN_TOKEN || env.VPS_SYNC_ADMIN_TOKEN_FILE || env.CREDENTIALS_DIRECTORY) {
    const token = readSecret('VPS_SYNC_ADMIN_TOKEN', env, read, problems);
    if (token !== undefined) setIf(section('http'), 'adminToken', token);
  }
  if (Array.isArray(raw.sources)) {
    out.sources = raw.sources.map((s: unknown) => {
      if (typeof s !== 'object' || s === null || Array.isArray(s)) return s;
      const src = { ...(s as Record<string, unknown>) };
      if (typeof src.name === 'string') {
        const field = src.type === 'vmware' ? 'password' : 'tokenSecret';
        setIf(src, field, readSecret(sourceSecretEnvName(src.name, field), env, read, problems));
      }
      return src;
    });
  }
  return out;
}
