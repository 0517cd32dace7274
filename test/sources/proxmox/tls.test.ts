// Certificate handling: a self-signed cluster is trusted only through its CA file or an
// explicit `insecure: true`; never silently.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProxmoxSimulator } from '../../../src/simulators/proxmox/index.js';
import { failure, never, startHarness, TOKEN_ID, TOKEN_SECRET, type Harness } from './helpers.js';
import { createProxmoxSource } from '../../../src/sources/proxmox/index.js';
import { proxmoxSourceSchema } from '../../../src/config/schema.js';
import { pino } from 'pino';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  h.sim.inventory.seed(20, { seed: 5 });
});
afterAll(async () => {
  await h.close();
});

describe('proxmox source TLS', () => {
  it('trusts the cluster through tls.caFile', async () => {
    const { vms } = await h.source().listVms(never());
    expect(vms.length).toBeGreaterThan(0);
  });

  it('refuses a self-signed certificate without a CA file, saying how to fix it', async () => {
    const err = await failure(() => h.source({ tls: {} }).listVms(never()));
    expect(err.reason).toBe('tls');
    expect(err.message).toBe(
      "proxmox pve1: TLS certificate not trusted (self-signed certificate) — set tls.caFile to the cluster's CA (/etc/pve/pve-root-ca.pem) or tls.insecure: true",
    );
    expect(err.message).not.toContain(TOKEN_SECRET);
  });

  it('refuses a certificate from another CA', async () => {
    const other = new ProxmoxSimulator({ tokens: [{ tokenId: TOKEN_ID, secret: TOKEN_SECRET }] });
    const { url } = await other.start();
    try {
      const err = await failure(() => h.source({ url }).listVms(never()));
      expect(err.reason).toBe('tls');
      expect(err.message).toContain('tls.caFile');
    } finally {
      await other.stop();
    }
  });

  it('works with tls.insecure: true', async () => {
    const { vms } = await h.source({ tls: { insecure: true } }).listVms(never());
    expect(vms.length).toBeGreaterThan(0);
  });

  it('speaking https to a plain-http server is a TLS handshake error', async () => {
    const plain = new ProxmoxSimulator({ tokens: [{ tokenId: TOKEN_ID, secret: TOKEN_SECRET }], tls: false });
    const { url } = await plain.start();
    try {
      const err = await failure(() => h.source({ url: url.replace('http:', 'https:') }).listVms(never()));
      expect(err.reason).toBe('tls');
      expect(err.message).toContain('TLS handshake');
      const source = createProxmoxSource(
        proxmoxSourceSchema.parse({ name: 'plain', type: 'proxmox', url, tokenId: TOKEN_ID, tokenSecret: TOKEN_SECRET }),
        { logger: pino({ level: 'silent' }) },
      );
      await expect(source.listVms(never())).resolves.toMatchObject({ vms: [] });
      await source.close();
    } finally {
      await plain.stop();
    }
  });
});
