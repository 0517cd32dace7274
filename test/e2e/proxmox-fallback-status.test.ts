// After a failover, an operator must see from `status` and `/status` that the daemon reads a
// Proxmox cluster through a fallback and not through `url`: the listings stick to the fallback
// until it fails, the daemon restarts or 10 minutes have passed, so nothing else would tell them
// the primary is unused.
// The real daemon process, two simulators as two nodes of one cluster (`nodeOf`), real wire.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DaemonStatus, EndpointStatus } from '../../src/engine/control.js';
import { ProxmoxSimulator } from '../../src/simulators/proxmox/index.js';
import { startDaemon, type DaemonProcess } from '../support/daemon-process.js';
import { accepting, closedPort } from '../support/ports.js';
import { TOKEN_ID, TOKEN_SECRET, World } from '../support/world.js';

const ADMIN = 'admin-token-for-tests-0123456789';
// Passes only at start and on request: the yearly schedule never fires.
const NEVER = '0 0 1 1 *';
const RESOURCES = '/api2/json/cluster/resources';

describe('status shows the Proxmox endpoint in use', () => {
  let world: World;
  let other: ProxmoxSimulator;
  let daemon: DaemonProcess | undefined;
  let port: number;
  let primary: string;
  let fallback: string;

  beforeEach(async () => {
    world = await new World().start();
    other = new ProxmoxSimulator({ tokens: [{ tokenId: TOKEN_ID, secret: TOKEN_SECRET }], nodeOf: world.pve });
    await other.start();
    primary = new URL(world.pve.url).origin;
    fallback = new URL(other.url).origin;
    port = await closedPort();
    const source = (world.configObject().sources as Array<Record<string, unknown>>)[0]!;
    world.writeConfig({ schedule: NEVER, http: { listen: `127.0.0.1:${port}`, adminToken: ADMIN }, log: { level: 'info' }, sources: [{ ...source, fallbackUrls: [other.url] }] });
    world.addVm({ vmid: 100, name: 'a' });
    world.addVm({ vmid: 101, name: 'b', node: 'pve-b' });
    world.bill(100, 5);
    world.bill(101, 6);
  });
  afterEach(async () => {
    await daemon?.stop('SIGKILL');
    daemon = undefined;
    await other.stop();
    await world.stop();
  });

  /** Asks the daemon for a pass and waits for it. */
  async function pass(after: number): Promise<DaemonStatus['lastPasses'][number]> {
    const r = await fetch(`http://127.0.0.1:${port}/resync`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(r.status).toBe(202);
    return daemon!.passAfter(after);
  }

  /** The endpoint of pve1 as /status, `status --json` and `status` show it; all three must agree. */
  async function shown(): Promise<{ http: EndpointStatus | null; text: string }> {
    const http = (await daemon!.status()).sources[0]!.endpoint;
    const json = await world.cli('status', '--json');
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as DaemonStatus).sources[0]!.endpoint).toEqual(http);
    const text = await world.cli('status');
    expect(text.code, text.stderr).toBe(0);
    for (const out of [JSON.stringify(http), json.stdout, text.stdout]) expect(out).not.toContain(TOKEN_SECRET);
    return { http, text: text.stdout };
  }

  it('shows the fallback after a failover, keeps showing it while it sticks, and url again once the fallback fails', async () => {
    daemon = await startDaemon(world.configPath, port);
    expect(await daemon.passAfter(0)).toMatchObject({ result: 'success' });
    let now = await shown();
    expect(now.http).toEqual({ url: primary, fallback: false, primary: null });
    expect(now.text).not.toContain('reading from fallback');

    // The node at `url` goes down: the next pass lists the cluster through the fallback.
    world.pve.faults.set({ kind: 'down', mode: 'refuse' });
    const before = Date.now();
    expect(await pass(1)).toMatchObject({ result: 'success' });
    const after = Date.now();
    now = await shown();
    expect(now.http).toEqual({ url: fallback, fallback: true, primary: { url: primary, failedAt: expect.any(String) } });
    const failedAt = now.http!.primary!.failedAt;
    expect(Date.parse(failedAt)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(failedAt)).toBeLessThanOrEqual(after);
    const line = now.text.split('\n').find((l) => l.includes('reading from fallback'));
    expect(line).toBe(`  ${''.padEnd(16)} ${''.padEnd(8)} reading from fallback ${fallback} (url ${primary} failed at ${failedAt}): check that node; url is tried again 10 minutes after it failed`);
    // Under the source's own line.
    const lines = now.text.split('\n');
    expect(lines[lines.indexOf(line!) - 1]).toMatch(/^ {2}pve1 +proxmox +up, 2 VM\(s\)/);

    // `url` is back, but is not asked: the fallback keeps answering and the line stays, unchanged.
    world.pve.faults.clear();
    await accepting(world.pve.url);
    const asked = world.pve.counters.get(RESOURCES);
    expect(await pass(2)).toMatchObject({ result: 'success' });
    expect(world.pve.counters.get(RESOURCES)).toBe(asked);
    expect((await shown()).http).toEqual({ url: fallback, fallback: true, primary: { url: primary, failedAt } });

    // The fallback fails: the listing goes back to `url`, and the line goes away.
    other.faults.set({ kind: 'down', mode: 'refuse' });
    expect(await pass(3)).toMatchObject({ result: 'success' });
    now = await shown();
    expect(now.http).toEqual({ url: primary, fallback: false, primary: null });
    expect(now.text).not.toContain('reading from fallback');
    expect(world.panel.table()).toHaveLength(2);
  });

  it('a restart goes back to url at once (no need to wait for the 10-minute retry)', async () => {
    daemon = await startDaemon(world.configPath, port);
    await daemon.passAfter(0);
    world.pve.faults.set({ kind: 'down', mode: 'refuse' });
    await pass(1);
    expect((await shown()).http).toMatchObject({ url: fallback, fallback: true });
    world.pve.faults.clear();
    await accepting(world.pve.url);
    expect(await daemon.stop('SIGTERM')).toBe(0);
    daemon = await startDaemon(world.configPath, port);
    // Pass 2 was the old daemon's failover; the new one's first pass is 3.
    expect(await daemon.passAfter(2)).toMatchObject({ id: 3, result: 'success' });
    const now = await shown();
    expect(now.http).toEqual({ url: primary, fallback: false, primary: null });
    expect(now.text).not.toContain('reading from fallback');
  });

  it('a pass no endpoint answers shows none: the source is down, not on a fallback', async () => {
    daemon = await startDaemon(world.configPath, port);
    await daemon.passAfter(0);
    world.pve.faults.set({ kind: 'down', mode: 'refuse' });
    other.faults.set({ kind: 'down', mode: 'refuse' });
    expect(await pass(1)).toMatchObject({ result: 'failed' });
    const now = await shown();
    expect(now.http).toBeNull();
    expect(now.text).toMatch(/pve1 +proxmox +DOWN: .*no endpoint could list the cluster/);
    expect(now.text).not.toContain('reading from fallback');
  });
});
