// `node dist/bench/client-bench.js [count] [concurrency]`: the panel client alone against the
// panel simulator (own process) — creates per second and client CPU per request, next to a bare
// undici Pool doing the same requests. This is how the panel client's transport was chosen.
import { join } from 'node:path';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Pool } from 'undici';
import { createPanelClient } from '../panel/index.js';
import { createLogger } from '../util/logger.js';
import { spawnReady } from './child.js';
import { API_KEY } from './layout.js';

const dist = resolve(dirname(fileURLToPath(import.meta.url)), '..');

async function timed(count: number, concurrency: number, one: (i: number) => Promise<void>): Promise<{ perSecond: number; cpuUsPerRequest: number }> {
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await one(next++);
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { perSecond: count / seconds, cpuUsPerRequest: (cpu.user + cpu.system) / count };
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 20_000);
  const concurrency = Number(process.argv[3] ?? 8);
  const dir = mkdtempSync(join(tmpdir(), 'client-bench-'));
  const panel = await spawnReady<{ url: string }>(join(dist, 'simulators/panel/main.js'), ['--api-key', API_KEY], { logFile: join(dir, 'panel.log') });
  try {
    const url = panel.ready.url;
    const fields = (i: number) => ({ user_id: (i % 5000) + 1, name: `c-${i}.example.net`, cpu: 2, ram: 4096, disk: 40, os: 'Debian 12', status: 'running' as const, hypervisor: 'proxmox' as const });
    const client = createPanelClient({ url, apiKey: API_KEY, timeoutMs: 10_000, concurrency, logger: createLogger({ level: 'silent', pretty: false }) });
    await timed(2000, concurrency, async (i) => void (await client.create(fields(i)))); // warm-up
    const c = await timed(count, concurrency, async (i) => {
      const r = await client.create(fields(i));
      if (!r.ok) throw new Error(r.message);
    });
    client.close();
    const pool = new Pool(url, { connections: concurrency });
    const headers = { 'content-type': 'application/json', 'x-api-key': API_KEY };
    const raw = async (i: number) => {
      const res = await pool.request({ path: '/api/vps/sync', method: 'POST', headers, body: JSON.stringify({ action: 'create', vps: fields(i) }) });
      await res.body.text();
    };
    await timed(2000, concurrency, raw);
    const u = await timed(count, concurrency, raw);
    await pool.close();
    const line = (name: string, r: { perSecond: number; cpuUsPerRequest: number }) =>
      `${name.padEnd(22)} ${r.perSecond.toFixed(0).padStart(7)} req/s  ${r.cpuUsPerRequest.toFixed(1).padStart(6)} µs CPU/request`;
    process.stdout.write(`${count} creates at concurrency ${concurrency}\n${line('panel client', c)}\n${line('bare undici Pool', u)}\n`);
  } finally {
    await panel.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`client-bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
