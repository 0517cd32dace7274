import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { USAGE } from '../../src/cli/help.js';
import { main } from '../../src/cli/main.js';
import { configSchema } from '../../src/config/schema.js';
import { codeSpans, fencedBlocks, headingAnchors } from './markdown.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const doc = readFileSync(join(root, 'docs/operations.md'), 'utf8');
const unit = readFileSync(join(root, 'systemd/ospab-vps-sync.service'), 'utf8');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const billingDoc = readFileSync(join(root, 'docs/billing.md'), 'utf8');
const example = readFileSync(join(root, 'config/config.example.yaml'), 'utf8');

interface SchemaDef {
  readonly type: string;
  readonly innerType?: Schema;
  readonly in?: Schema;
  readonly shape?: Record<string, Schema>;
  readonly options?: readonly Schema[];
  readonly element?: Schema;
  readonly defaultValue?: unknown;
}
interface Schema {
  readonly _zod: { readonly def: SchemaDef };
}

/**
 * Every key path of a zod schema, as the README writes them (`panel.caFile`, `sources[].listLimit`):
 * `leaves` are the values, `all` adds the objects and arrays that hold them.
 */
function keyPaths(schema: Schema, prefix = ''): { leaves: string[]; all: string[] } {
  const def = schema._zod.def;
  const inner = def.innerType ?? def.in;
  if (inner && ['default', 'optional', 'nullable', 'readonly', 'prefault', 'pipe'].includes(def.type)) return keyPaths(inner, prefix);
  const merge = (parts: { leaves: string[]; all: string[] }[], own: string[]) => ({
    leaves: [...new Set(parts.flatMap((p) => p.leaves))],
    all: [...new Set([...own, ...parts.flatMap((p) => p.all)])],
  });
  if (def.type === 'object' && def.shape) return merge(Object.entries(def.shape).map(([k, v]) => keyPaths(v, prefix ? `${prefix}.${k}` : k)), prefix ? [prefix] : []);
  if (def.type === 'union' && def.options) return merge(def.options.map((o) => keyPaths(o, prefix)), [prefix]);
  if (def.type === 'array' && def.element && ['object', 'union'].includes(def.element._zod.def.type)) return merge([keyPaths(def.element, `${prefix}[]`)], [prefix]);
  return { leaves: [prefix], all: [prefix] };
}

/** Each leaf key path with a default in the schema, and that default (the nearest `.default()` above the leaf). */
function schemaDefaults(schema: Schema, prefix = '', inherited: { value: unknown } | null = null): Map<string, unknown> {
  const def = schema._zod.def;
  const out = new Map<string, unknown>();
  const inner = def.innerType ?? def.in;
  if (def.type === 'default' && inner) return schemaDefaults(inner, prefix, { value: def.defaultValue });
  if (inner && ['optional', 'nullable', 'readonly', 'prefault', 'pipe'].includes(def.type)) return schemaDefaults(inner, prefix, inherited);
  if (def.type === 'object' && def.shape) {
    for (const [k, v] of Object.entries(def.shape)) for (const [key, d] of schemaDefaults(v, prefix ? `${prefix}.${k}` : k)) out.set(key, d);
    return out;
  }
  if (def.type === 'union' && def.options) {
    for (const o of def.options) for (const [key, d] of schemaDefaults(o, prefix)) out.set(key, d);
    return out;
  }
  if (def.type === 'array' && def.element && ['object', 'union'].includes(def.element._zod.def.type)) return schemaDefaults(def.element, `${prefix}[]`);
  if (inherited) out.set(prefix, inherited.value);
  return out;
}

/** The rows of the README's Configuration table: the keys (in backticks) of the first cell and the default cell. */
function configRows(): { keys: string[]; defaultCell: string }[] {
  const section = readme.slice(readme.indexOf('\n## Configuration'), readme.indexOf('\n## ', readme.indexOf('\n## Configuration') + 1));
  return section
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => l.split('|'))
    .map((cells) => ({ keys: [...cells[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!), defaultCell: cells[2]!.trim() }));
}

/** The keys named (in backticks) in the first column of the README's Configuration table. */
function documentedKeys(): Set<string> {
  return new Set(configRows().flatMap((r) => r.keys));
}

const NO_CONFIG = '/nonexistent/ospab-vps-sync-docs-test/config.yaml';

/** Runs the CLI in-process with an empty environment; only the exit code and stderr matter here. */
async function cli(args: readonly string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const stdout = new Writable({ write: (_c, _e, cb) => cb() });
  const errors = new Writable({
    write: (chunk, _e, cb) => {
      stderr += String(chunk);
      cb();
    },
  });
  const code = await main(args, { env: {}, stdout, stderr: errors });
  return { code, stderr };
}

/** The help's commands, each with the synopsis on its first line (before the description). */
function helpCommands(): Map<string, string> {
  const section = USAGE.slice(USAGE.indexOf('\nCommands:'), USAGE.indexOf('\nOptions:'));
  const out = new Map<string, string>();
  for (const m of section.matchAll(/^ {2}([a-z][a-z-]*)(.*)$/gm)) out.set(m[1]!, `${m[1]}${m[2]!.split(/ {2,}/)[0]}`);
  return out;
}

/** The long options a synopsis shows: `once [--full] [--force]` → full, force. */
function optionsIn(synopsis: string): string[] {
  return [...synopsis.matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1]!).sort();
}

/** Positional arguments that satisfy a command, so that only its options are being tried. */
const POSITIONALS: Record<string, string[]> = { resolve: ['pve1/104'], 'rename-source': ['pve1', 'pve2'], 'forget-source': ['pve1'] };
/** Options that take a value, and one it accepts. */
const VALUES: Record<string, string> = { 'panel-id': '57' };

/**
 * The long options a command really takes, asked of the CLI itself: with a config file that does
 * not exist, an option it takes gets as far as loading the config (78), one it does not is a usage
 * error (64) first.
 */
async function acceptedOptions(command: string, candidates: readonly string[]): Promise<string[]> {
  const accepted: string[] = [];
  for (const option of candidates) {
    const { code, stderr } = await cli([command, ...(POSITIONALS[command] ?? []), `--${option}`, ...(option in VALUES ? [VALUES[option]!] : []), '--config', NO_CONFIG]);
    expect([EXIT.usage, EXIT.config], `${command} --${option}: ${stderr}`).toContain(code);
    if (code === EXIT.config) accepted.push(option);
  }
  return accepted.sort();
}

/** Every `ospab-vps-sync <command> …` (or `dist/cli.js <command> …`) in the shell blocks and inline code of a text. */
function commandLines(text: string, commands: readonly string[]): string[] {
  const snippets = [...fencedBlocks(text, ['sh', 'bash', 'shell']).flatMap((b) => b.split('\n')), ...codeSpans(text)];
  const out: string[] = [];
  for (const snippet of snippets) {
    const flat = snippet.replace(/\s+/g, ' ');
    for (const m of flat.matchAll(/(?:^|[\s/])(?:ospab-vps-sync|dist\/cli\.js) ([a-z][a-z-]*)((?: [^ ]+)*)/g)) {
      if (!commands.includes(m[1]!)) continue;
      const rest: string[] = [];
      for (const token of m[2]!.trim().split(' ').filter(Boolean)) {
        if (/^(#|\||&&|;|>|2>|\\$)/.test(token)) break;
        rest.push(token);
      }
      out.push([m[1]!, ...rest].join(' '));
    }
  }
  return out;
}

/** A documented command line made runnable: placeholders filled in, and a config file that does not exist. */
function runnable(line: string): string[] {
  const words = line
    .replace(/<source>\/<vm ?id>/g, 'pve1/104')
    .replace(/<N>/g, '57')
    .replace(/<[^>]+>/g, 'x')
    .split(' ');
  const args: string[] = [];
  for (let i = 0; i < words.length; i++) {
    if (words[i] === '--config' || words[i] === '-c') i++;
    else args.push(words[i]!);
  }
  return [...args, '--config', NO_CONFIG];
}

describe('docs/operations.md', () => {
  it('has no broken in-page links', () => {
    const anchors = headingAnchors(doc);
    const links = [...doc.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(5);
    for (const l of links) expect(anchors.has(l), l).toBe(true);
  });

  it('links to files that exist, and to headings that exist in them (README, operations.md, billing.md)', () => {
    let checked = 0;
    for (const file of ['README.md', 'docs/operations.md', 'docs/billing.md']) {
      const text = readFileSync(join(root, file), 'utf8');
      for (const m of text.matchAll(/\]\(([^)#\s]+)(?:#([^)\s]+))?\)/g)) {
        if (/^[a-z]+:/.test(m[1]!)) continue; // http(s):, mailto:
        const target = join(root, dirname(file), m[1]!);
        expect(existsSync(target), `${file}: ${m[0]}`).toBe(true);
        if (m[2] !== undefined && target.endsWith('.md')) expect(headingAnchors(readFileSync(target, 'utf8')).has(m[2]), `${file}: ${m[0]}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('documents the least-privilege Proxmox token and every credential the unit loads', () => {
    expect(doc).toContain('pveum user add sync@pve');
    expect(doc).toContain('pveum user token add sync@pve daemon --privsep 1');
    expect(doc).toContain("pveum acl modify / --tokens 'sync@pve!daemon' --roles PVEAuditor");
    for (const m of unit.matchAll(/^LoadCredential=(\S+)$/gm)) expect(doc).toContain(m[1]!);
  });

  it('documents the three full-resync triggers', () => {
    expect(doc).toContain('ospab-vps-sync resync --full');
    expect(doc).toContain('/resync?full=1');
    expect(doc).toContain('systemctl reload ospab-vps-sync');
  });
});

describe('README configuration table', () => {
  const { leaves, all } = keyPaths(configSchema as unknown as Schema);
  const documented = documentedKeys();

  it('the schema walk finds the keys (a guard against a walk that finds nothing)', () => {
    expect(leaves).toEqual(expect.arrayContaining(['stateFile', 'panel.caFile', 'sources[].listLimit', 'sources[].include.tags', 'retry.breakerCooldownMs', 'http.readyMaxAgeSeconds']));
    expect(leaves.length).toBeGreaterThan(40);
  });

  it('documents every key of the config schema, by its full path', () => {
    expect(leaves.filter((k) => !documented.has(k))).toEqual([]);
  });

  it('documents no key the schema does not have', () => {
    expect([...documented].filter((k) => !all.includes(k))).toEqual([]);
  });

  it("gives each key's default as the schema has it ('—' for a key without one)", () => {
    const defaults = schemaDefaults(configSchema as unknown as Schema);
    expect(defaults.get('guards.maxDeleteFraction')).toBe(0.1); // the walk finds nested defaults
    const rows = configRows().filter((r) => r.keys.length === 1);
    expect(rows.length).toBeGreaterThan(30);
    for (const { keys, defaultCell } of rows) {
      const key = keys[0]!;
      const shown = defaultCell.replace(/`/g, '');
      if (defaults.has(key)) expect(shown, key).toBe(String(defaults.get(key)));
      else expect(['—', 'built-in'], key).toContain(shown);
    }
  });
});

describe('install step 1 copies what the later steps and the unit use from /opt/ospab-vps-sync', () => {
  it('every directory referenced under /opt/ospab-vps-sync is copied or built there', () => {
    const copy = /^sudo cp -r (.+) \/opt\/ospab-vps-sync\/$/m.exec(doc);
    expect(copy, 'the cp line of step 1').not.toBeNull();
    const copied = new Set(copy![1]!.split(/\s+/));
    const built = new Set(['dist', 'node_modules']); // npm ci / npm run build in step 1
    const used = new Set([...`${doc}\n${unit}`.matchAll(/\/opt\/ospab-vps-sync\/([\w.-]+)\//g)].map((m) => m[1]!));
    expect(used).toContain('systemd');
    expect(used).toContain('docs'); // the unit's Documentation=
    for (const dir of used) expect(copied.has(dir) || built.has(dir), dir).toBe(true);
  });
});

describe('the CLI as the docs and --help show it', () => {
  const commands = helpCommands();
  const options = [...new Set([...USAGE.matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1]!))].filter((o) => !['config', 'help', 'version'].includes(o));

  it('the help parses (a guard against a parser that finds nothing)', () => {
    expect([...commands.keys()]).toEqual(expect.arrayContaining(['run', 'once', 'plan', 'status', 'check-config', 'resync', 'resolve', 'rename-source', 'forget-source']));
    expect(options).toEqual(expect.arrayContaining(['json', 'full', 'force', 'local', 'panel-id', 'recreate', 'forget']));
  });

  it("each command's synopsis in --help shows exactly the options it takes", async () => {
    for (const [command, synopsis] of commands) expect(optionsIn(synopsis), synopsis).toEqual(await acceptedOptions(command, options));
  });

  it("the README's CLI block shows each command with exactly the options it takes", async () => {
    const block = readme.slice(readme.indexOf('\n## CLI'), readme.indexOf('\n## ', readme.indexOf('\n## CLI') + 1));
    const lines = [...block.matchAll(/^ospab-vps-sync ([a-z][a-z-]*)(.*)$/gm)].map((m) => ({ command: m[1]!, synopsis: `${m[1]}${m[2]!.split(/ {2,}/)[0]}` }));
    for (const command of commands.keys()) expect(block, command).toContain(command);
    expect(lines.length).toBeGreaterThan(6);
    for (const { command, synopsis } of lines) {
      expect(commands.has(command), command).toBe(true);
      expect(optionsIn(synopsis), synopsis).toEqual(await acceptedOptions(command, options));
    }
  });

  it('every ospab-vps-sync command line in the docs is one the CLI accepts as written', async () => {
    const found = [readme, doc, billingDoc, example].flatMap((text) => commandLines(text, [...commands.keys()]));
    expect(found.length, 'command lines found in the docs').toBeGreaterThan(25);
    for (const line of new Set(found)) {
      const { code, stderr } = await cli(runnable(line));
      // Everything on the line was understood; what stopped it is the config file that does not exist.
      expect({ line, code, stderr }).toEqual({ line, code: EXIT.config, stderr: expect.stringContaining('cannot read the config file') });
    }
  });

  it('--help and the README name every exit code there is, and no other', () => {
    const codes = Object.values(EXIT).map(String).sort();
    const helpLine = USAGE.slice(USAGE.indexOf('Exit codes:'));
    const readmeLine = readme.slice(readme.indexOf('Exit codes:'), readme.indexOf('\n\n', readme.indexOf('Exit codes:')));
    for (const text of [helpLine, readmeLine]) {
      expect([...new Set([...text.matchAll(/\b(\d+) [a-z]/g)].map((m) => m[1]!))].sort(), text).toEqual(codes);
    }
  });
});
