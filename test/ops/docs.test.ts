import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { headingAnchors } from './markdown.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const doc = readFileSync(join(root, 'docs/operations.md'), 'utf8');
const unit = readFileSync(join(root, 'systemd/ospab-vps-sync.service'), 'utf8');

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
