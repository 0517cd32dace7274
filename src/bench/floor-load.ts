// Floor (b), run as its own process: a minimal keep-alive load generator that sends `count`
// panel creates with exactly `concurrency` requests in flight (the daemon's setting), so the
// figure is what the panel simulator itself can serve — the ceiling for the initial sync.
// undici's Pool is used because it is the cheapest HTTP/1.1 client in Node (the generator
// must not be the bottleneck). With WARMUP 0 it is a fresh process's first COUNT creates instead:
// what any Node client pays from a cold start, for comparison with the daemon's initial sync.
// Prints one JSON line.
import { Pool } from 'undici';
import { GENERATOR_WARMUP_CREATES } from './layout.js';

/** The line this process prints. */
export interface FloorLoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly cpuMs: number;
  readonly statuses: Record<string, number>;
}

async function main(): Promise<void> {
  const [url, apiKey, concurrencyText, countText, warmupText] = process.argv.slice(2);
  if (!url || !apiKey) throw new Error('usage: floor-load URL API_KEY CONCURRENCY COUNT [WARMUP]');
  const concurrency = Number(concurrencyText);
  const count = Number(countText);
  const warmup = warmupText === undefined ? GENERATOR_WARMUP_CREATES : Number(warmupText);
  const pool = new Pool(url, { connections: concurrency, pipelining: 1 });
  const headers = { 'content-type': 'application/json', accept: 'application/json', 'x-api-key': apiKey };
  const statuses: Record<string, number> = {};
  let next = 0;
  let end = 0;
  const worker = async (): Promise<void> => {
    while (next < end) {
      const i = next++;
      const body = JSON.stringify({
        action: 'create',
        vps: { user_id: (i % 5000) + 1, name: `load-${i}.example.net`, cpu: 2, ram: 4096, disk: 40, os: 'Debian 12', status: 'running', hypervisor: 'proxmox' },
      });
      const res = await pool.request({ path: '/api/vps/sync', method: 'POST', headers, body });
      await res.body.text();
      statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
    }
  };
  // Warm-up first (JIT, connections, the simulator's own warm-up): the ceiling is what the panel
  // can serve, not what a client manages while its own code is still being compiled.
  end = Math.min(warmup, count);
  if (end > 0) await Promise.all(Array.from({ length: concurrency }, worker));
  for (const k of Object.keys(statuses)) delete statuses[k];
  next = 0;
  end = count;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const result: FloorLoadResult = { requests: count, seconds, perSecond: count / seconds, cpuMs: (cpu.user + cpu.system) / 1000, statuses };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  await pool.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`floor-load: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
