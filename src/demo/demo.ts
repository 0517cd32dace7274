// `npm run demo`: a Proxmox simulator with a few dozen VMs, the panel simulator, a SQLite
// billing database in the main site's layout, and the real daemon — then a short tour of
// what to look at. `--check` runs the tour unattended and exits (used by the test suite).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, relative, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { seedMainSite, type SeedServer } from '../simulators/billing/main-site.js';
import { PanelSimulator } from '../simulators/panel/index.js';
import { ProxmoxSimulator } from '../simulators/proxmox/index.js';

const API_KEY = 'demo-api-key-change-me-0123456789abcdef';
const ADMIN_TOKEN = 'demo-admin-token-0123456789';
const TOKEN_ID = 'sync@pve!demo';
const TOKEN_SECRET = '3f6c1a52-9d4e-4b7a-8c21-5e0f9a7b6d13';
const GIB = 1024 ** 3;

const check = process.argv.includes('--check');
const dir = resolve(process.env.DEMO_DIR ?? '.demo');
const cli = resolve(new URL('../cli.js', import.meta.url).pathname);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function say(text = ''): void {
  process.stdout.write(`${text}\n`);
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`demo: timed out waiting for ${what}`);
}

interface StatusBody {
  lastPasses: { id: number; result: string; actions: { ok: number; planned: number }; drift: Record<string, number> }[];
}

async function passAfter(statusUrl: string, afterId: number): Promise<StatusBody['lastPasses'][number]> {
  return waitFor(`a pass after #${afterId}`, async () => {
    const body = (await (await fetch(statusUrl)).json()) as StatusBody;
    const last = body.lastPasses[0];
    return last && last.id > afterId && last.result !== 'running' ? last : undefined;
  });
}

async function main(): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });

  // 1. Proxmox: 36 guests on three nodes, two of them templates.
  const pve = new ProxmoxSimulator({ tokens: [{ tokenId: TOKEN_ID, secret: TOKEN_SECRET }] });
  const { url: pveUrl, caPem } = await pve.start();
  writeFileSync(join(dir, 'pve-ca.pem'), caPem);
  const nodes = ['pve-a', 'pve-b', 'pve-c'];
  for (let i = 0; i < 36; i++) {
    const vmid = 100 + i;
    pve.inventory.upsert({
      vmid,
      type: i % 4 === 3 ? 'lxc' : 'qemu',
      node: nodes[i % 3]!,
      name: i >= 34 ? `template-${i}` : `vps-${vmid}`,
      template: i >= 34 ? 1 : 0,
      status: i % 7 === 0 ? 'stopped' : 'running',
      maxcpu: [1, 2, 4][i % 3]!,
      maxmem: [1, 2, 4, 8][i % 4]! * GIB,
      maxdisk: [20, 40, 80][i % 3]! * GIB,
    });
  }

  // 2. Billing: 30 paid servers for 10 customers; 130..133 nobody pays for; one paid server has no VM.
  const billingPath = join(dir, 'billing.db');
  const db = new Database(billingPath);
  const servers: SeedServer[] = [];
  for (let i = 0; i < 30; i++) {
    servers.push({ id: i + 1, userId: (i % 10) + 1, osId: (i % 3) + 1, status: i === 4 || i === 11 ? 'suspended' : 'active', proxmoxId: 100 + i });
  }
  servers.push({ id: 31, userId: 3, osId: 1, status: 'active', proxmoxId: 999 });
  servers.push({ id: 32, userId: 4, osId: 1, status: 'creating', proxmoxId: null });
  await seedMainSite((sql) => db.exec(sql), 'sqlite', {
    users: Array.from({ length: 10 }, (_, i) => ({ id: i + 1 })),
    operatingSystems: [{ id: 1, name: 'Ubuntu 22.04 LTS' }, { id: 2, name: 'Debian 12' }, { id: 3, name: 'AlmaLinux 9' }],
    tariffs: [{ id: 1 }],
    servers,
  });
  db.close();

  // 3. The panel.
  const panel = new PanelSimulator({ apiKey: API_KEY });
  const { url: panelUrl } = await panel.start();

  // 4. The daemon's config.
  const httpPort = await freePort();
  const configPath = join(dir, 'config.yaml');
  writeFileSync(
    configPath,
    stringify({
      stateFile: join(dir, 'state.db'),
      schedule: '*/10 * * * * *',
      panel: { url: panelUrl, apiKey: API_KEY, timeoutMs: 5000, concurrency: 8 },
      sources: [{ name: 'pve1', type: 'proxmox', url: pveUrl, tokenId: TOKEN_ID, tokenSecret: TOKEN_SECRET, tls: { caFile: join(dir, 'pve-ca.pem') } }],
      billing: { driver: 'sqlite', url: billingPath },
      guards: { missingPassesBeforeDelete: 2, maxDeletesPerPass: 20, maxDeleteFraction: 0.1 },
      http: { listen: `127.0.0.1:${httpPort}`, adminToken: ADMIN_TOKEN },
      log: { level: check ? 'warn' : 'info' },
    }),
  );
  const base = `http://127.0.0.1:${httpPort}`;
  const rel = relative(process.cwd(), configPath);

  say('ospab-vps-sync demo');
  say(`  Proxmox simulator  ${pveUrl}  (36 guests on 3 nodes, 2 templates; self-signed TLS, CA in ${relative(process.cwd(), dir)}/pve-ca.pem)`);
  say(`  panel simulator    ${panelUrl}  (POST /api/vps/sync; GET ${panelUrl}/_sim/table shows what it holds)`);
  say(`  billing (SQLite)   ${relative(process.cwd(), billingPath)}  (main site's tables: 31 servers with a VM, 2 suspended)`);
  say(`  daemon             node dist/cli.js run --config ${rel}   → ${base}/metrics /status /readyz`);
  say();

  // 5. The real daemon, as its own process.
  const daemon: ChildProcess = spawn(process.execPath, [cli, 'run', '--config', configPath], { stdio: check ? ['ignore', 'ignore', 'inherit'] : 'inherit' });
  let daemonExited = false;
  daemon.on('exit', () => (daemonExited = true));
  const shutdown = async (code: number): Promise<never> => {
    if (!daemonExited) {
      daemon.kill('SIGTERM');
      await new Promise((r) => daemon.once('exit', r));
    }
    await Promise.allSettled([pve.stop(), panel.stop()]);
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));

  try {
    const first = await passAfter(`${base}/status`, 0);
    const rows = panel.table();
    say();
    say(`After pass #${first.id} (${first.result}) the panel holds ${rows.length} VPSes (every paid VM; templates and unpaid VMs are not sent).`);
    say(`Drift it reports: ${Object.entries(first.drift).filter(([, n]) => n > 0).map(([c, n]) => `${c}=${n}`).join(', ')}`);
    say();
    say('Now look at:');
    say(`  npx ospab-vps-sync plan --config ${rel}        # dry run: what would be sent, and the drift (exit 0 = nothing to send, 2 = changes)`);
    say(`  npx ospab-vps-sync status --config ${rel}      # last passes, sources, billing, outbox`);
    say(`  curl -s ${base}/metrics | grep ^vpssync_drift`);
    say(`  curl -s ${panelUrl}/_sim/table | head -c 600`);
    say();
    say('Changing the world: vps-101 is stopped and vps-102 is deleted on Proxmox.');
    pve.inventory.update(101, { status: 'stopped' });
    pve.inventory.remove(102);
    const second = await passAfter(`${base}/status`, first.id);
    say(`Pass #${second.id}: ${second.actions.ok}/${second.actions.planned} sent — the stop as one update; the delete waits for a second listing without the VM (guards.missingPassesBeforeDelete: 2).`);
    const third = await passAfter(`${base}/status`, second.id);
    say(`Pass #${third.id}: ${third.actions.ok}/${third.actions.planned} sent — vps-102's panel VPS is deleted. The panel holds ${panel.table().length} VPSes.`);
    if (check) {
      const ok = rows.length === 30 && panel.table().length === 29 && !daemonExited;
      say(ok ? 'demo check: ok' : `demo check: FAILED (panel had ${rows.length}, then ${panel.table().length})`);
      await shutdown(ok ? 0 : 1);
    }
    say();
    say('The daemon keeps running every 10 s; change things through the simulators\' /_sim/ APIs and watch. Ctrl-C stops everything.');
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    await shutdown(1);
  }
}

await main();
