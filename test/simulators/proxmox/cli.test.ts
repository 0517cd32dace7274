// The standalone simulator's argument handling: seeded inventory, CA file written and removed,
// the source can list through the CA file it reports.
import { existsSync, readFileSync } from 'node:fs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../src/simulators/proxmox/cli.js';
import { createProxmoxSource } from '../../../src/sources/proxmox/index.js';
import { proxmoxSourceSchema } from '../../../src/config/schema.js';

const SECRET = 'abcdef01-2345-4678-89ab-cdef01234567';

describe('proxmox simulator CLI', () => {
  it('starts seeded, reports {url, caFile}, serves the source, cleans up on stop', async () => {
    const cli = await runCli(['--vms', '500', '--nodes', '2', '--seed', '4', '--token-id', 'bench@pve!sync', '--token-secret', SECRET]);
    try {
      expect(cli.ready.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(readFileSync(cli.ready.caFile!, 'utf8')).toContain('-----BEGIN CERTIFICATE-----');
      expect(cli.simulator.inventory.size).toBe(500);
      expect(cli.simulator.inventory.nodes()).toEqual(['pve1', 'pve2']);
      const source = createProxmoxSource(
        proxmoxSourceSchema.parse({ name: 'bench', type: 'proxmox', url: cli.ready.url, tokenId: 'bench@pve!sync', tokenSecret: SECRET, tls: { caFile: cli.ready.caFile } }),
        { logger: pino({ level: 'silent' }) },
      );
      const { vms, rejected } = await source.listVms(new AbortController().signal);
      await source.close();
      expect(rejected).toEqual([]);
      expect(vms.length).toBe(cli.simulator.inventory.list().filter((g) => g.template === 0).length);
      expect(cli.simulator.counters.snapshot()).toEqual({ '/api2/json/cluster/resources': 1 });
    } finally {
      await cli.stop();
    }
    expect(existsSync(cli.ready.caFile!)).toBe(false);
  });

  it('runs without TLS and reports no CA file', async () => {
    const cli = await runCli(['--no-tls']);
    try {
      expect(cli.ready).toEqual({ url: expect.stringMatching(/^http:\/\//), caFile: null });
    } finally {
      await cli.stop();
    }
  });

  it('rejects a bad number with the option name', async () => {
    await expect(runCli(['--vms', 'many'])).rejects.toThrow('--vms must be a non-negative integer, got "many"');
  });
});
