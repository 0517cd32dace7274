// CLI for the vSphere simulator in its own process (benchmark, demo):
// prints one JSON line {"url", "caFile"} when ready and stops on SIGTERM/SIGINT.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { VsphereSimulator } from './server.js';

const argsSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(0),
  vms: z.coerce.number().int().min(0).default(100),
  clusters: z.coerce.number().int().min(0).default(2),
  hostsPerCluster: z.coerce.number().int().min(1).default(4),
  username: z.string().min(1).default('administrator@vsphere.local'),
  password: z.string().min(1).default('sim-password'),
  seed: z.coerce.number().int().default(1),
  listLimit: z.coerce.number().int().min(1).default(4000),
  flavors: z
    .string()
    .default('api,rest')
    .transform((v) => v.split(',').map((f) => f.trim()))
    .pipe(z.array(z.enum(['api', 'rest'])).min(1, '--flavors needs api, rest or both')),
});

/** Starts the simulator from command-line arguments. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      vms: { type: 'string' },
      clusters: { type: 'string' },
      'hosts-per-cluster': { type: 'string' },
      username: { type: 'string' },
      password: { type: 'string' },
      seed: { type: 'string' },
      'list-limit': { type: 'string' },
      flavors: { type: 'string' },
    },
  });
  const parsed = argsSchema.safeParse({ ...values, hostsPerCluster: values['hosts-per-cluster'], listLimit: values['list-limit'] });
  if (!parsed.success) {
    process.stderr.write(`vsphere simulator: ${parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ')}\n`);
    process.exit(2);
  }
  const args = parsed.data;
  const sim = new VsphereSimulator({ username: args.username, password: args.password, flavors: args.flavors, listLimit: args.listLimit, port: args.port });
  sim.seed(args.vms, { clusters: args.clusters, hostsPerCluster: args.hostsPerCluster, seed: args.seed, standaloneHosts: args.clusters === 0 ? 1 : 0 });
  const { url, caPem } = await sim.start();
  const dir = await mkdtemp(join(tmpdir(), 'vsphere-sim-'));
  const caFile = join(dir, 'ca.pem');
  await writeFile(caFile, caPem);
  const shutdown = () => {
    void sim.stop().then(() => rm(dir, { recursive: true, force: true })).then(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  process.stdout.write(`${JSON.stringify({ url, caFile })}\n`);
}

void main().catch((error: unknown) => {
  process.stderr.write(`vsphere simulator: ${(error as Error).message}\n`);
  process.exit(1);
});
