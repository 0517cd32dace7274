// Floor (a), run as its own fresh process: fetch and JSON.parse the same raw inventory the daemon
// reads in a steady pass — every Proxmox cluster's `GET /cluster/resources?type=vm` and the
// vCenter's VM listings — with plain undici requests, all sources in parallel, nothing else.
// Prints one JSON line: wall time, CPU time, bytes and entries.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { TOKEN_ID, TOKEN_SECRET, VC_PASSWORD, VC_USER } from './layout.js';

/** What to fetch (the benchmark passes it as the only argument, JSON). */
export interface FloorFetchSpec {
  readonly proxmox: readonly { url: string; caFile: string }[];
  readonly vsphere: { url: string; caFile: string; vms: number } | null;
  /** vCenter's per-call limit: above it the listing is made per host, as the daemon does. */
  readonly listLimit: number;
}

/** The line this process prints. */
export interface FloorFetchResult {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly bytes: number;
  readonly entries: number;
  readonly requests: number;
  /** Peak RSS of this process (getrusage), for comparison with the daemon's. */
  readonly peakRssMiB: number;
}

async function getJson(agent: Agent, url: string, headers: Record<string, string>): Promise<{ bytes: number; value: unknown }> {
  const res = await request(url, { dispatcher: agent, headers });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET ${url}: ${res.statusCode}`);
  return { bytes: Buffer.byteLength(text), value: JSON.parse(text) };
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as FloorFetchSpec;
  const agents = new Map<string, Agent>();
  const agentFor = (url: string, caFile: string): Agent => {
    let a = agents.get(url);
    if (!a) agents.set(url, (a = new Agent({ connect: { ca: readFileSync(caFile, 'utf8') } })));
    return a;
  };
  // The daemon keeps its vCenter session between passes, so logging in is not part of the floor.
  let vc: { agent: Agent; headers: Record<string, string>; base: string } | null = null;
  if (spec.vsphere) {
    const agent = agentFor(spec.vsphere.url, spec.vsphere.caFile);
    const res = await request(`${spec.vsphere.url}/api/session`, {
      method: 'POST',
      dispatcher: agent,
      headers: { authorization: `Basic ${Buffer.from(`${VC_USER}:${VC_PASSWORD}`).toString('base64')}` },
    });
    const headers = { 'vmware-api-session-id': (await res.body.json()) as string };
    vc = { agent, headers, base: `${spec.vsphere.url}/api` };
  }

  let bytes = 0;
  let entries = 0;
  let requests = 0;
  const count = (r: { bytes: number; value: unknown }, list: unknown[]) => {
    bytes += r.bytes;
    entries += list.length;
    requests++;
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const work: Promise<void>[] = spec.proxmox.map(async (p) => {
    const r = await getJson(agentFor(p.url, p.caFile), `${p.url}/api2/json/cluster/resources?type=vm`, { authorization: `PVEAPIToken=${TOKEN_ID}=${TOKEN_SECRET}` });
    count(r, (r.value as { data: unknown[] }).data);
  });
  if (vc && spec.vsphere) {
    const { agent, headers, base } = vc;
    work.push(
      (async () => {
        if (spec.vsphere!.vms < spec.listLimit) {
          const r = await getJson(agent, `${base}/vcenter/vm`, headers);
          count(r, r.value as unknown[]);
          return;
        }
        // Too many for one call: per host, as the daemon's sharded listing ends up doing (it also lists the hosts each pass).
        const hosts = await getJson(agent, `${base}/vcenter/host`, headers);
        count(hosts, []);
        await Promise.all(
          (hosts.value as { host: string }[]).map(async (h) => {
            const r = await getJson(agent, `${base}/vcenter/vm?hosts=${encodeURIComponent(h.host)}`, headers);
            count(r, r.value as unknown[]);
          }),
        );
      })(),
    );
  }
  await Promise.all(work);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const result: FloorFetchResult = { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, bytes, entries, requests, peakRssMiB: process.resourceUsage().maxRSS / 1024 };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  await Promise.all([...agents.values()].map((a) => a.close()));
}

main().catch((err: unknown) => {
  process.stderr.write(`floor-fetch: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
