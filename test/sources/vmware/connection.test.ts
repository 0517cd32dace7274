// Flavour detection, TLS, authentication, timeouts, cancellation and configuration errors.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { vmwareSourceSchema } from '../../../src/config/schema.js';
import { createVmwareSource, VsphereError, type VmwareSource } from '../../../src/sources/vmware/index.js';
import { captureLogger, noAbort, PASSWORD, sourceConfig, startSim, type SimHandle } from './helpers.js';

let handle: SimHandle | null = null;
let source: VmwareSource | null = null;

afterEach(async () => {
  await source?.close();
  await handle?.stop();
  source = null;
  handle = null;
});

async function failure(promise: Promise<unknown>): Promise<VsphereError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(VsphereError);
  expect((error as Error).message).not.toContain('\n');
  expect((error as Error).message).not.toContain(PASSWORD);
  return error as VsphereError;
}

function make(overrides: Record<string, unknown> = {}, deps: Partial<Parameters<typeof createVmwareSource>[1]> = {}) {
  const { logger, lines } = captureLogger();
  source = createVmwareSource(sourceConfig(handle!, overrides), { logger, ...deps });
  return { source, lines };
}

describe('API flavour', () => {
  test('auto uses /api on a 7.0 U2+ vCenter', async () => {
    handle = await startSim();
    handle.sim.upsertVm({ name: 'a' });
    const { source, lines } = make();
    expect((await source.listVms(noAbort())).vms).toHaveLength(1);
    expect(lines.some((l) => l.includes('"flavor":"api"'))).toBe(true);
  });

  test('auto falls back to /rest on a 6.7-style vCenter and remembers it', async () => {
    handle = await startSim({ flavors: ['rest'] });
    handle.sim.upsertVm({ name: 'a', guestFullName: 'CentOS 7 (64-bit)' });
    const { source, lines } = make();
    const { vms } = await source.listVms(noAbort());
    expect(vms).toMatchObject([{ name: 'a', os: 'CentOS 7 (64-bit)' }]);
    handle.sim.expireSessions();
    await source.listVms(noAbort());
    // The /api probe (404, not routed) happened once; both logins went to /rest.
    expect(handle.sim.counters.get('session.create')).toBe(2);
    expect(lines.filter((l) => l.includes('no /api')).length).toBe(1);
  });

  test('explicit api on a 6.7-style vCenter says to use rest', async () => {
    handle = await startSim({ flavors: ['rest'] });
    make({ apiFlavor: 'api' });
    const error = await failure(source!.listVms(noAbort()));
    expect(error.reason).toBe('http');
    expect(error.message).toMatch(/does not serve \/api; set apiFlavor to "rest" or "auto"/);
  });
});

describe('failures', () => {
  test('TLS without the CA: clear tls error naming tls.caFile and tls.insecure', async () => {
    handle = await startSim();
    make({ tls: {} });
    const error = await failure(source!.listVms(noAbort()));
    expect(error.reason).toBe('tls');
    expect(error.message).toMatch(/tls\.caFile/);
    expect(error.message).toMatch(/tls\.insecure/);
    expect(error.retryable).toBe(false);
  });

  test('tls.insecure accepts the self-signed certificate', async () => {
    handle = await startSim();
    handle.sim.upsertVm({ name: 'a' });
    make({ tls: { insecure: true } });
    expect((await source!.listVms(noAbort())).vms).toHaveLength(1);
  });

  test('an unreadable caFile is a tls error naming the file', async () => {
    handle = await startSim();
    make({ tls: { caFile: '/nonexistent/ca.pem' } });
    const error = await failure(source!.listVms(noAbort()));
    expect(error.reason).toBe('tls');
    expect(error.message).toContain('/nonexistent/ca.pem');
  });

  test('wrong password: auth error telling to check username/password, without the password', async () => {
    handle = await startSim();
    make({ password: 'wrong-password' });
    const error = await failure(source!.listVms(noAbort()));
    expect(error.reason).toBe('auth');
    expect(error.message).toMatch(/check username\/password/);
    expect(error.message).not.toContain('wrong-password');
  });

  test('a slow vCenter: timeout error after timeoutMs', async () => {
    handle = await startSim();
    handle.sim.setSlowMs(1_000);
    make({ timeoutMs: 100 });
    const error = await failure(source!.listVms(noAbort()));
    expect(error.reason).toBe('timeout');
    expect(error.message).toMatch(/within 100 ms/);
  });

  test('a vCenter whose answer stalls after its headers: timeout error after timeoutMs', async () => {
    handle = await startSim();
    handle.sim.setStallBodyMs(2_000);
    make({ timeoutMs: 150 });
    const started = performance.now();
    const error = await failure(source!.listVms(noAbort()));
    expect(error.reason).toBe('timeout');
    expect(error.message).toMatch(/within 150 ms/);
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  test('a vCenter that drops connections: connect error', async () => {
    handle = await startSim();
    handle.sim.setDown(true);
    make();
    const error = await failure(source!.listVms(noAbort()));
    expect(error.reason).toBe('connect');
    handle.sim.setDown(false);
    handle.sim.upsertVm({ name: 'back' });
    expect((await source!.listVms(noAbort())).vms).toHaveLength(1);
  });

  test('the caller\'s signal cancels the listing', async () => {
    handle = await startSim();
    handle.sim.setSlowMs(2_000);
    make();
    const controller = new AbortController();
    const pending = source!.listVms(controller.signal);
    setTimeout(() => controller.abort(), 50);
    expect((await failure(pending)).reason).toBe('aborted');
  });

  test('a listing error that is not about size is not retried as shards', async () => {
    handle = await startSim();
    handle.sim.seed(10, { clusters: 1, hostsPerCluster: 1 });
    make({ filters: { clusters: ['Cluster-1'] } });
    handle.sim.failShard([...handle.sim.inventory.clusters.keys()][0]!);
    const error = await failure(source!.listVms(noAbort()));
    expect(error.reason).toBe('http');
    expect(error.message).toMatch(/HTTP 500 ERROR/);
  });
});

describe('filters and cache', () => {
  test('clusters by name, folders, resource pools and name patterns narrow the listing', async () => {
    handle = await startSim();
    const sim = handle.sim;
    sim.seed(60, { clusters: 2, hostsPerCluster: 1 });
    const [c1] = [...sim.inventory.clusters.values()];
    const customers = [...sim.inventory.folders.values()].find((f) => f.name === 'Customers')!;
    make({ filters: { clusters: ['Cluster-1'], folders: [customers.id], namePatterns: ['^vps-0000[0-4]', '5$'] } });
    const { vms } = await source!.listVms(noAbort());
    const expected = [...sim.inventory.vms.values()]
      .filter((v) => sim.inventory.clusterOf(v) === c1!.id && v.folder === customers.id && (/^vps-0000[0-4]/.test(v.name) || /5$/.test(v.name)))
      .map((v) => v.id);
    expect(expected.length).toBeGreaterThan(0);
    expect(vms.map((v) => v.externalId).sort()).toEqual(expected.sort());
    // Details only for the VMs that passed the filters.
    expect(sim.counters.get('vm.get')).toBe(expected.length);
  });

  test('resource pool filter by name', async () => {
    handle = await startSim();
    handle.sim.seed(40, { clusters: 2, hostsPerCluster: 1 });
    const pool = [...handle.sim.inventory.pools.values()].find((p) => p.name === 'Customers-2')!;
    make({ filters: { resourcePools: ['Customers-2'] } });
    const { vms } = await source!.listVms(noAbort());
    expect(vms.length).toBe([...handle.sim.inventory.vms.values()].filter((v) => v.pool === pool.id).length);
    expect(vms.length).toBeGreaterThan(0);
  });

  test('a filter naming no cluster is a config error, never an empty inventory', async () => {
    handle = await startSim();
    handle.sim.seed(5, { clusters: 1, hostsPerCluster: 1 });
    make({ filters: { clusters: ['Cluster-9'] } });
    const error = await failure(source!.listVms(noAbort()));
    expect(error.reason).toBe('config');
    expect(error.message).toMatch(/filters\.clusters: no cluster has the name or id "Cluster-9"; known: Cluster-1/);
  });

  test('an invalid name pattern is refused when the source is created', () => {
    expect(() => createVmwareSource(
      { ...sourceConfigFor(), filters: { namePatterns: ['(unclosed'] } },
      { logger: captureLogger().logger },
    )).toThrow(/filters\.namePatterns: "\(unclosed" is not a valid regular expression/);
  });

  /** A VM whose disk grows from 10 to 50 GiB after its detail was cached (max age 60 s), and the source's clock. */
  const resizedAfterCaching = async () => {
    handle = await startSim();
    const vm = handle.sim.upsertVm({ name: 'grow', disks: [10 * 1024 ** 3] });
    let now = 1_000_000;
    make({}, { clock: { now: () => now }, detailMaxAgeMs: 60_000 });
    const diskGb = async () => (await source!.listVms(noAbort())).vms[0]?.diskGb;
    expect(await diskGb()).toBe(10);
    handle.sim.setDisks(vm, [50 * 1024 ** 3]);
    return {
      diskGb,
      moveClock: (ms: number) => (now += ms),
      setDisksGb: (gb: number) => handle!.sim.setDisks(vm, [gb * 1024 ** 3]),
    };
  };

  test('a disk resize is seen once the cached detail is old enough', async () => {
    const vm = await resizedAfterCaching();
    expect(await vm.diskGb()).toBe(10);
    vm.moveClock(90_001); // beyond 1.5 × maxAge, the latest a detail can be kept
    expect(await vm.diskGb()).toBe(50);
  });

  test('a wall clock set back does not keep a cached detail for as long as the clock jumped', async () => {
    const vm = await resizedAfterCaching();
    vm.moveClock(-3_600_000); // NTP sets the clock back an hour
    expect(await vm.diskGb()).toBe(50);
    // Refetched at the new time, so kept again as long as usual.
    vm.setDisksGb(60);
    expect(await vm.diskGb()).toBe(50);
  });

  test('the guest OS from Tools is kept while the VM is powered off', async () => {
    handle = await startSim();
    const vm = handle.sim.upsertVm({ name: 'a', guestOs: 'UBUNTU_64', guestFullName: 'Ubuntu Linux (64-bit)' });
    make({ defaultGuestOs: 'Linux' });
    expect((await source!.listVms(noAbort())).vms[0]?.os).toBe('Ubuntu Linux (64-bit)');
    handle.sim.setPower(vm, 'POWERED_OFF');
    expect((await source!.listVms(noAbort())).vms[0]).toMatchObject({ power: 'stopped', os: 'Ubuntu Linux (64-bit)' });
  });

  // The logout runs while the daemon stops, after the panel calls' own wait: with the source's full
  // timeoutMs the stop could outlast systemd's TimeoutStopSec and end in SIGKILL.
  test('close waits at most 3 s for a vCenter that does not answer the logout', async () => {
    handle = await startSim();
    handle.sim.upsertVm({ name: 'a' });
    const { lines } = make({ timeoutMs: 15_000 });
    await source!.listVms(noAbort());
    handle.sim.setSlowMs(20_000);
    const started = performance.now();
    await source!.close();
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(lines.join('\n')).toMatch(/vCenter logout failed/);
  });

  test('a listing after close is refused', async () => {
    handle = await startSim();
    make();
    await source!.close();
    expect((await failure(source!.listVms(noAbort()))).message).toMatch(/closed/);
  });
});

function sourceConfigFor() {
  return sourceConfig({ url: 'https://127.0.0.1:1', caFile: '/dev/null' } as SimHandle);
}

// A proxy in front of vCenter that echoes the request's Authorization header in its error page:
// messages cut the page to a few hundred characters, and a cut through the credentials must not
// leave a piece of them (the password travels as HTTP Basic on login).
// The same echo inside a vAPI-shaped JSON error, whose message is read from the parsed body.
describe('an error page that echoes the credentials', () => {
  const basic = Buffer.from(`sync@vsphere.local:${PASSWORD}`).toString('base64');
  const pages = {
    html: (echo: string) => ({ type: 'text/html', body: echo }),
    'vAPI JSON': (echo: string) => ({ type: 'application/json', body: JSON.stringify({ error_type: 'ERROR', messages: [{ id: 'proxy.error', default_message: echo }] }) }),
  };
  const cases = Object.keys(pages).flatMap((page) => [230, 240, 250, 260, 270, 280, 285, 290].map((pad) => [page, pad] as const));
  test.each(cases)('%s, cut %i characters in: no piece of the password or its Basic form', async (page, pad) => {
    const server = createServer((req, res) => {
      const answer = pages[page as keyof typeof pages](`${'x'.repeat(pad)}${String(req.headers.authorization)} ${PASSWORD} trailing`);
      res.writeHead(500, { 'content-type': answer.type });
      res.end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const config = vmwareSourceSchema.parse({ name: 'vc1', type: 'vmware', url: `http://127.0.0.1:${port}`, username: 'sync@vsphere.local', password: PASSWORD, apiFlavor: 'api', timeoutMs: 2000 });
      const vc = createVmwareSource(config, { logger: captureLogger().logger });
      try {
        const err = await vc.listVms(noAbort()).then(() => null, (e: unknown) => e as Error);
        expect(err).toBeInstanceOf(VsphereError);
        const text = `${err!.message}\n${JSON.stringify(err, Object.getOwnPropertyNames(err))}`;
        for (const secret of [basic, PASSWORD]) {
          for (let at = 0; at + 8 <= secret.length; at++) expect(text).not.toContain(secret.slice(at, at + 8));
        }
      } finally {
        await vc.close();
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
