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

/** The secrets a config needs, by the part of it that uses them (see `ConfigInputs.optionalSecrets`). */
export type SecretGroup = 'panel' | 'billing' | 'sources';

export interface ConfigInputs {
  /** `--config` from the command line, if given. */
  readonly path?: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly readFile?: (path: string) => string;
  /**
   * Secrets a command never uses, so it need not find them: an operator runs `status` or
   * `resolve` from a shell, where the service's systemd credentials are not. Everything else is
   * still validated (a secret that IS found, too); a missing one comes back in `missingSecrets`
   * and its config value is '' — a command that loaded without it must not use it.
   */
  readonly optionalSecrets?: readonly SecretGroup[];
}

/** A required secret that was not found: its key, the secret's name, and where it was looked for. */
export interface MissingSecret {
  readonly key: string;
  readonly name: string;
  readonly group: SecretGroup;
  /** One clause naming every place it was looked for, and what to set. */
  readonly looked: string;
}

export interface LoadedConfig {
  readonly config: Config;
  readonly path: string;
  /** Only with `optionalSecrets`: the secrets of those groups that were not found. */
  readonly missingSecrets: readonly MissingSecret[];
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

/**
 * Where a secret is looked for, in words, for a message about one that was not found. Says
 * whether $CREDENTIALS_DIRECTORY is set, because from a shell it is not: the service's systemd
 * credentials are then invisible, which is the usual reason.
 */
export function secretLookupHint(name: string, env: NodeJS.ProcessEnv): string {
  const credDir = env.CREDENTIALS_DIRECTORY;
  return credDir
    ? `looked for env ${name}, env ${name}_FILE and the credential ${credDir}/${name}, which is not there: declare LoadCredential=${name} (or LoadCredentialEncrypted=${name}) for the unit`
    : `looked for env ${name}, env ${name}_FILE and a systemd credential, but CREDENTIALS_DIRECTORY is not set here (as in a shell); the service gets it with LoadCredential=${name}`;
}

/** The problem line of a required secret that was not found. */
export function missingSecretProblem(m: MissingSecret): string {
  return `${m.key}: is required — secret ${m.name} not found: ${m.looked}`;
}

/** Loads and validates the configuration; throws `ConfigError` listing every problem. */
export function loadConfig(inputs: ConfigInputs): LoadedConfig {
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
  const overrides = applyOverrides(raw as Record<string, unknown>, inputs.env, read, problems);
  const optional = new Set(inputs.optionalSecrets ?? []);
  const missing: MissingSecret[] = [];
  for (const slot of overrides.slots) {
    if (!slot.missing()) continue;
    const looked = secretLookupHint(slot.name, inputs.env);
    // Filled so that the schema checks everything else; a required one is a problem of its own.
    slot.fill();
    if (optional.has(slot.group)) missing.push({ key: slot.key, name: slot.name, group: slot.group, looked });
    else problems.push(missingSecretProblem({ key: slot.key, name: slot.name, group: slot.group, looked }));
  }
  problems.push(...secretNameCollisions(raw as Record<string, unknown>));
  const parsed = configSchema.safeParse(overrides.merged);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = formatPath(issue.path);
      problems.push(`${key}: ${issueMessage(issue)}${originOf(key, overrides.origins)}`);
    }
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(path, problems);
  const config = parsed.data;
  // What was filled in for validation only must never be used: an empty value fails loudly.
  for (const m of missing) setAtKey(config as unknown as Record<string, unknown>, m.key, '');
  return { config: withAbsolutePaths(config, path), path, missingSecrets: missing };
}

/** ` (from env OSPAB_PANEL_URL)` when an override set `key` (or the object holding it), else ''. */
function originOf(key: string, origins: ReadonlyMap<string, string>): string {
  for (const [k, from] of origins) if (key === k || key.startsWith(`${k}.`)) return ` (from ${from})`;
  return '';
}

/** Sets the value at a config key as messages spell it (`panel.apiKey`, `sources[1].password`); a key whose parents are missing is left alone. */
export function setAtKey(obj: Record<string, unknown>, key: string, value: string): void {
  const parts = key.split(/\.|\[(\d+)\]\.?/).filter((p) => p !== undefined && p !== '');
  let at: Record<string, unknown> = obj;
  for (const p of parts.slice(0, -1)) {
    const next = at[p];
    if (typeof next !== 'object' || next === null) return;
    at = next as Record<string, unknown>;
  }
  at[parts[parts.length - 1]!] = value;
}

/**
 * Two sources whose names differ only in case or punctuation (`pve-1`, `pve_1`, `pve.1`, `PVE1`
 * and `pve1`) read the same secret: each would silently log in with the other's. A problem
 * naming both (identical names are the schema's "duplicate source name").
 */
function secretNameCollisions(raw: Record<string, unknown>): string[] {
  if (!Array.isArray(raw.sources)) return [];
  const seen = new Map<string, { index: number; name: string }>();
  const out: string[] = [];
  raw.sources.forEach((s: unknown, index) => {
    if (typeof s !== 'object' || s === null) return;
    const { name, type } = s as Record<string, unknown>;
    if (typeof name !== 'string' || (type !== 'proxmox' && type !== 'vmware')) return;
    const secret = sourceSecretEnvName(name, type === 'vmware' ? 'password' : 'tokenSecret');
    const first = seen.get(secret);
    if (first === undefined) seen.set(secret, { index, name });
    else if (first.name !== name) {
      out.push(`sources[${index}].name: "${name}" and sources[${first.index}].name "${first.name}" both take their secret from ${secret} (a source's secret name is its name upper-cased, other characters as "_"): rename one`);
    }
  });
  return out;
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

/** A secret's value and where it came from, as a message names it (`env VPS_SYNC_API_KEY`). */
export interface FoundSecret {
  readonly value: string;
  readonly from: string;
}

/** Reads a secret from `NAME`, `NAME_FILE` or `$CREDENTIALS_DIRECTORY/NAME` (first found wins). */
export function readSecret(name: string, env: NodeJS.ProcessEnv, read: (p: string) => string, problems: string[]): FoundSecret | undefined {
  const direct = env[name];
  if (direct !== undefined && direct !== '') return { value: direct, from: `env ${name}` };
  const file = env[`${name}_FILE`];
  if (file) {
    try {
      return { value: read(file).replace(/\r?\n$/, ''), from: `${name}_FILE ${file}` };
    } catch (err) {
      problems.push(`${name}_FILE: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      return undefined;
    }
  }
  const credDir = env.CREDENTIALS_DIRECTORY;
  if (credDir) {
    for (const candidate of [name, name.toLowerCase()]) {
      try {
        return { value: read(join(credDir, candidate)).replace(/\r?\n$/, ''), from: `credential ${candidate}` };
      } catch {
        // not provided as a credential under this name
      }
    }
  }
  return undefined;
}

/** A required secret's place in the merged config: whether it is still missing, and how to fill it for validation. */
interface SecretSlot {
  readonly key: string;
  readonly name: string;
  readonly group: SecretGroup;
  missing(): boolean;
  /** Puts a value there that passes the schema, so everything else is still checked. */
  fill(): void;
}

/** Values that pass each secret's schema; used only to validate the rest, then blanked. */
const PLACEHOLDER = {
  apiKey: 'x'.repeat(32),
  tokenSecret: '00000000-0000-0000-0000-000000000000',
  password: 'not-loaded',
  billingUrl: (driver: unknown): string => (driver === 'mysql' ? 'mysql://not-loaded/db' : driver === 'postgres' ? 'postgres://not-loaded/db' : '/not-loaded.db'),
};

function slot(obj: Record<string, unknown>, field: string, key: string, name: string, group: SecretGroup, placeholder: () => string): SecretSlot {
  return {
    key,
    name,
    group,
    missing: () => obj[field] === undefined || obj[field] === '',
    fill: () => {
      obj[field] = placeholder();
    },
  };
}

function applyOverrides(
  raw: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  read: (p: string) => string,
  problems: string[],
): { merged: Record<string, unknown>; origins: Map<string, string>; slots: SecretSlot[] } {
  const out: Record<string, unknown> = { ...raw };
  /** Config key → where an override took its value from: messages about that key say so. */
  const origins = new Map<string, string>();
  const slots: SecretSlot[] = [];
  const section = (key: string): Record<string, unknown> | null => {
    const v = out[key];
    const copy = typeof v === 'object' && v !== null && !Array.isArray(v) ? { ...(v as Record<string, unknown>) } : v === undefined ? {} : null;
    if (copy === null) return null; // wrong type: leave it for the schema to report
    out[key] = copy;
    return copy;
  };
  const setIf = (obj: Record<string, unknown> | null, field: string, key: string, found: FoundSecret | undefined): void => {
    if (obj === null || found === undefined) return;
    obj[field] = found.value;
    origins.set(key, found.from);
  };

  const panel = section('panel');
  if (panel && env.OSPAB_PANEL_URL) {
    panel.url = env.OSPAB_PANEL_URL;
    origins.set('panel.url', 'env OSPAB_PANEL_URL');
  }
  setIf(panel, 'apiKey', 'panel.apiKey', readSecret('VPS_SYNC_API_KEY', env, read, problems));
  if (panel) slots.push(slot(panel, 'apiKey', 'panel.apiKey', 'VPS_SYNC_API_KEY', 'panel', () => PLACEHOLDER.apiKey));

  if (env.BILLING_DATABASE_URL !== undefined || env.BILLING_DATABASE_URL_FILE !== undefined || raw.billing !== undefined) {
    const billing = section('billing');
    setIf(billing, 'url', 'billing.url', readSecret('BILLING_DATABASE_URL', env, read, problems));
    if (billing) slots.push(slot(billing, 'url', 'billing.url', 'BILLING_DATABASE_URL', 'billing', () => PLACEHOLDER.billingUrl(billing.driver)));
  }
  if (raw.http !== undefined || env.VPS_SYNC_ADMIN_TOKEN || env.VPS_SYNC_ADMIN_TOKEN_FILE || env.CREDENTIALS_DIRECTORY) {
    const token = readSecret('VPS_SYNC_ADMIN_TOKEN', env, read, problems);
    if (token !== undefined) setIf(section('http'), 'adminToken', 'http.adminToken', token);
  }
  if (Array.isArray(raw.sources)) {
    out.sources = raw.sources.map((s: unknown, i) => {
      if (typeof s !== 'object' || s === null || Array.isArray(s)) return s;
      const src = { ...(s as Record<string, unknown>) };
      if (typeof src.name === 'string') {
        const field = src.type === 'vmware' ? 'password' : 'tokenSecret';
        const name = sourceSecretEnvName(src.name, field);
        const key = `sources[${i}].${field}`;
        setIf(src, field, key, readSecret(name, env, read, problems));
        // Only a known type says which field the secret is; the schema reports an unknown one.
        if (src.type === 'proxmox' || src.type === 'vmware') {
          slots.push(slot(src, field, key, name, 'sources', () => (field === 'password' ? PLACEHOLDER.password : PLACEHOLDER.tokenSecret)));
        }
      }
      return src;
    });
  }
  return { merged: out, origins, slots };
}
