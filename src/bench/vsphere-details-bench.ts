// `node dist/bench/vsphere-details-bench.js [vms] [runs]`: a vSphere source's first listing — every
// VM's detail fetched (vm.get, and the guest identity of powered-on VMs) — against the vSphere
// simulator in its own process, over HTTPS. What a daemon start cost before the details were saved
// in the state file, and what a full resync still costs; it is how the vSphere transport was
// chosen (undici's request() over fetch()).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { vmwareSourceSchema } from '../config/schema.js';
import { createVmwareSource } from '../sources/vmware/index.js';
import { createLogger } from '../util/logger.js';
import { spawnReady } from './child.js';

const dist = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const USERNAME = 'bench@vsphere.local';
const PASSWORD = 'bench-vc-password';

async function main(): Promise<void> {
  const vms = Number(process.argv[2] ?? 10_000);
  const runs = Number(process.argv[3] ?? 3);
  const dir = mkdtempSync(join(tmpdir(), 'vsphere-details-bench-'));
  const sim = await spawnReady<{ url: string; caFile: string }>(
    join(dist, 'simulators/vsphere/main.js'),
    ['--vms', String(vms), '--clusters', '2', '--hosts-per-cluster', '4', '--username', USERNAME, '--password', PASSWORD],
    { logFile: join(dir, 'vsphere.log') },
  );
  try {
    const config = vmwareSourceSchema.parse({ name: 'vc1', type: 'vmware', url: sim.ready.url, username: USERNAME, password: PASSWORD, tls: { caFile: sim.ready.caFile }, timeoutMs: 30_000 });
    console.log(`vSphere first listing, ${vms} VMs (simulator in its own process), detail concurrency ${config.detailConcurrency}, node ${process.version}`);
    for (let run = 1; run <= runs; run++) {
      // A new source each run: an empty detail cache, as in a process that has none saved.
      const source = createVmwareSource(config, { logger: createLogger({ level: 'warn', pretty: false }) });
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const { vms: listed, rejected } = await source.listVms(new AbortController().signal);
      const seconds = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      console.log(
        `run ${run}: ${listed.length} VMs (${rejected.length} rejected), ${source.lastPass?.detailsFetched ?? '?'} details fetched in ${seconds.toFixed(2)} s; client CPU ${cpuSeconds.toFixed(2)} s = ${Math.round((cpuSeconds * 1e6) / Math.max(1, listed.length))} µs per VM`,
      );
      await source.close();
    }
  } finally {
    await sim.stop(2_000);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`vsphere-details-bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
