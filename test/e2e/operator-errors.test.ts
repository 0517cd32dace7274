// Each mistake an operator is likely to make gives one clear line saying what to fix,
// never a stack trace as the only message.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort } from '../support/ports.js';
import { API_KEY, TOKEN_SECRET, World } from '../support/world.js';

const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);

describe('operator errors', () => {
  let world: World;
  beforeAll(async () => {
    world = await new World().start();
    world.addVm({ vmid: 100 });
    world.bill(100, 5);
  });
  afterAll(async () => {
    await world.stop();
  });

  it('a bad config exits 78 listing every problem with its path', async () => {
    writeFileSync(world.configPath, 'panel: { url: nope }\nsources: []\nbilling: { driver: sqlite }\n');
    const r = await world.cli('check-config');
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/panel\.url: must be an http/);
    expect(r.stderr).toMatch(/sources: at least one source/);
    expect(r.stderr).toMatch(/billing\.url: is required/);
    noStack(r.stderr);
    world.writeConfig();
  });

  it('a short API key exits 78 and says the minimum', async () => {
    world.writeConfig({ panel: { url: world.panel.url, apiKey: 'short-key' } });
    const r = await world.cli('once');
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/panel\.apiKey: must be at least 32 characters/);
    expect(r.stderr).not.toContain('short-key');
    world.writeConfig();
  });

  it('check-config prints the effective config with secrets masked', async () => {
    const r = await world.cli('check-config');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/valid/);
    expect(r.stdout).toContain('apiKey: "***"');
    expect(r.stdout).not.toContain(API_KEY);
    expect(r.stdout).not.toContain(TOKEN_SECRET);
  });

  it('an unreachable Proxmox says it cannot connect, naming the source and URL', async () => {
    const port = await closedPort();
    world.writeConfig({ sources: [{ ...(world.configObject().sources as object[])[0], url: `https://127.0.0.1:${port}` }] });
    const r = await world.cli('once');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`source pve1 unknown: proxmox pve1: cannot connect to https://127\\.0\\.0\\.1:${port}: connection refused`));
    noStack(r.stdout + r.stderr);
    world.writeConfig();
  });

  it('a self-signed certificate without a CA file says to set tls.caFile or tls.insecure', async () => {
    const [src] = world.configObject().sources as Record<string, unknown>[];
    world.writeConfig({ sources: [{ ...src, tls: {} }] });
    const r = await world.cli('once');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/certificate/i);
    expect(r.stdout).toMatch(/tls\.caFile/);
    expect(r.stdout).toMatch(/tls\.insecure/);
    noStack(r.stdout + r.stderr);
    world.writeConfig({ sources: [{ ...src, tls: { insecure: true } }] });
    expect((await world.cli('plan')).code).toBe(2);
    world.writeConfig();
  });

  it('a panel answering 401 says to fix the API key, and the key is not shown', async () => {
    const wrong = 'w'.repeat(40);
    world.writeConfig({ panel: { url: world.panel.url, apiKey: wrong, timeoutMs: 2000 } });
    const r = await world.cli('once');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/panel refused the API key \(401\): fix panel\.apiKey \/ VPS_SYNC_API_KEY/);
    expect(r.stdout + r.stderr).not.toContain(wrong);
    expect(world.panel.table()).toEqual([]);
    world.writeConfig();
  });

  it('unknown commands and options exit 64 with the usage', async () => {
    expect((await world.cli('frobnicate')).code).toBe(64);
    const r = await world.cli('status', '--force');
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/"status" does not take --force/);
  });
});
