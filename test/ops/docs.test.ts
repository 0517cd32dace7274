import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { headingAnchors } from './markdown.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const doc = readFileSync(join(root, 'docs/operations.md'), 'utf8');
const unit = readFileSync(join(root, 'systemd/ospab-vps-sync.service'), 'utf8');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

interface SchemaDef {
  readonly type: string;
  readonly innerType?: Schema;
  readonly in?: Schema;
  readonly shape?: Record<string, Schema>;
  readonly options?: readonly Schema[];
  readonly element?: Schema;
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

/** The keys named (in backticks) in the first column of the README's Configuration table. */
function documentedKeys(): Set<string> {
  const section = readme.slice(readme.indexOf('\n## Configuration'), readme.indexOf('\n## ', readme.indexOf('\n## Configuration') + 1));
  const firstCells = section.split('\n').filter((l) => l.startsWith('| `')).map((l) => l.split('|')[1]!);
  return new Set(firstCells.flatMap((cell) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!)));
}

describe('docs/operations.md', () => {
  it('has no broken in-page links', () => {
    const anchors = headingAnchors(doc);
    const links = [...doc.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(5);
    for (const l of links) expect(anchors.has(l), l).toBe(true);
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
