// Secrets never reach logs (even at trace level, even on failures), errors, check-config,
// status, /status or /metrics.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon } from '../support/daemon-process.js';
import { closedPort } from '../support/ports.js';
import { API_KEY, TOKEN_SECRET, World } from '../support/world.js';

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const ADMIN = 'admin-secret-token-abcdef0123456789';
const BILLING_PASSWORD = 'billing-db-pass-9f8e7d';

async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, ...args], { env: { PATH: process.env.PATH, ...env } });
    return stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return (e.stdout ?? '') + (e.stderr ?? '');
  }
}

function expectNoSecret(text: string): void {
  for (const secret of [API_KEY, TOKEN_SECRET, ADMIN, BILLING_PASSWORD]) expect(text).not.toContain(secret);
}

describe('secrets stay secret', () => {
  let world: World;
  beforeAll(async () => {
    world = await new World().start();
    world.addVm({ vmid: 100 });
    world.bill(100, 5);
  });
  afterAll(async () => {
    await world.stop();
  });

  it('trace-level logs of a good pass, a 401 from the panel and a Proxmox auth failure', async () => {
    world.writeConfig({ log: { level: 'trace' }, http: { listen: '', adminToken: ADMIN } });
    const outputs = [await runCli(['once', '--config', world.configPath])];
    expect(outputs[0]).toMatch(/"level":10|"level":20/); // really at debug/trace
    world.writeConfig({ log: { level: 'trace' }, panel: { url: world.panel.url, apiKey: API_KEY.replace('test', 'best'), timeoutMs: 2000 } });
    outputs.push(await runCli(['once', '--full', '--config', world.configPath]));
    const [src] = world.configObject().sources as Record<string, unknown>[];
    world.writeConfig({ log: { level: 'trace' }, sources: [{ ...src, tokenSecret: TOKEN_SECRET.replace('0b9f', '1b9f') }] });
    outputs.push(await runCli(['once', '--config', world.configPath]));
    expect(outputs[1]).toMatch(/panel refused the API key/);
    expect(outputs[2]).toMatch(/401|permission denied|auth/i);
    for (const out of outputs) expectNoSecret(out);
    expect(outputs[1]).not.toContain(API_KEY.replace('test', 'best'));
    expect(outputs[2]).not.toContain(TOKEN_SECRET.replace('0b9f', '1b9f'));
  });

  it('a billing URL with a password is masked in check-config and errors', async () => {
    const port = await closedPort();
    world.writeConfig({ billing: { driver: 'mysql', url: `mysql://sync:${BILLING_PASSWORD}@127.0.0.1:${port}/billing` }, log: { level: 'trace' } });
    const check = await runCli(['check-config', '--config', world.configPath]);
    expect(check).toContain(`mysql://sync:***@127.0.0.1:${port}/billing`);
    const once = await runCli(['once', '--config', world.configPath]);
    expect(once).toMatch(/billing unavailable/);
    expectNoSecret(check + once);
  });

  it('status, /status and /metrics carry no secret', async () => {
    const port = await closedPort();
    world.writeConfig({ http: { listen: `127.0.0.1:${port}`, adminToken: ADMIN } });
    const daemon = await startDaemon(world.configPath, port, { VPS_SYNC_ADMIN_TOKEN: ADMIN });
    try {
      await daemon.passAfter(0);
      const served = (await (await fetch(`${daemon.url}/status`)).text()) + (await (await fetch(`${daemon.url}/metrics`)).text());
      expectNoSecret(served + daemon.output());
    } finally {
      await daemon.stop();
    }
    expectNoSecret(await runCli(['status', '--json', '--config', world.configPath]));
  });
});
