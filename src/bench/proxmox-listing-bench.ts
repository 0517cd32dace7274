// `node dist/bench/proxmox-listing-bench.js [guests=60000] [--runs K] [--rounds R] [--variants old,new] [--batch-kib B] [--semi-space-mib S]`
//
// The Proxmox listing alone: a Proxmox simulator with N guests in its own process, and each
// variant of the client in a fresh process of its own (so heaps and JIT state do not mix),
// listing K times after one warm-up. Variants:
// - `new`: `createProxmoxSource(...).listVms()` — the body is parsed and mapped as it arrives;
// - `old`: the whole-body path it replaced — proxmox-api with a fetch that buffers the body,
//   `json()` = decode + JSON.parse of all of it, the zod list check, then buildListing;
// - `module:<path>`: `createProxmoxSource` from another build (e.g. the previous commit's dist).
// Rounds alternate the variants so a busy machine slows them alike.
//
// Reported per listing: wall ms, CPU ms (user+system of the client process) and the peak of
// heapUsed + arrayBuffers above the level before the listing (after a forced GC), sampled every
// millisecond and at the points where the old path holds most (it parses in one synchronous
// step no timer can interrupt); plus the process's peak RSS.
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { proxmoxApi, type ProxmoxEngineOptions } from 'proxmox-api';
import { Agent, fetch as undiciFetch, Response, type RequestInit } from 'undici';
import { proxmoxSourceSchema, type ProxmoxSourceConfig } from '../config/schema.js';
import type { VmSource } from '../domain/ports.js';
import { ProxmoxClient } from '../sources/proxmox/client.js';
import { createGuestFilter } from '../sources/proxmox/filter.js';
import { createProxmoxSource } from '../sources/proxmox/index.js';
import { buildListing, ListingBuilder } from '../sources/proxmox/listing.js';
import { guestListSchema } from '../sources/proxmox/schema.js';
import { runToResult, spawnReady } from './child.js';
import { TOKEN_ID, TOKEN_SECRET } from './layout.js';
import { machineInfo } from './machine.js';

const dist = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const self = fileURLToPath(import.meta.url);
const MIB = 1024 * 1024;

interface Run {
  wallMs: number;
  cpuMs: number;
  /** Peak of heapUsed + arrayBuffers above the level before the listing. */
  peakExtraMiB: number;
  /** The same for arrayBuffers alone (bodies, socket chunks). */
  peakBuffersMiB: number;
  /** What the result (records and rejects) holds once garbage is collected. */
  resultMiB: number;
}
interface WorkerResult {
  variant: string;
  runs: Run[];
  maxRssMiB: number;
  vms: number;
  rejected: number;
}

// ---------------------------------------------------------------- memory sampling (worker side)

let peak = 0;
let peakBuffers = 0;
function sample(): void {
  const m = process.memoryUsage();
  const used = m.heapUsed + m.arrayBuffers;
  if (used > peak) peak = used;
  if (m.arrayBuffers > peakBuffers) peakBuffers = m.arrayBuffers;
}

// ---------------------------------------------------------------- the old whole-body path

/** The old capture: read the whole body into one buffer, `json()` decodes and parses all of it. */
class WholeBodyResponse extends Response {
  constructor(
    private readonly captured: Buffer,
    init: { status: number; statusText: string; headers: Response['headers'] },
  ) {
    super(null, init);
  }
  override readonly text = async (): Promise<string> => {
    const text = this.captured.toString('utf8');
    sample(); // body + text
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  };
  override readonly json = async (): Promise<unknown> => {
    const value = JSON.parse(await this.text()) as unknown;
    sample(); // body + text + every raw entry
    return value;
  };
}

async function readWhole(res: Response): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length'));
  let into = Number.isFinite(declared) && res.headers.has('content-length') ? Buffer.allocUnsafe(declared) : null;
  let filled = 0;
  const chunks: Uint8Array[] = [];
  for await (const chunk of res.body!) {
    if (into && filled + chunk.byteLength <= into.length) {
      into.set(chunk, filled);
      filled += chunk.byteLength;
      continue;
    }
    if (into) {
      chunks.push(into.subarray(0, filled));
      into = null;
    }
    chunks.push(chunk);
  }
  return into ? into.subarray(0, filled) : Buffer.concat(chunks);
}

function oldSource(config: ProxmoxSourceConfig, ca: string): VmSource {
  const dispatcher = new Agent({ connect: { ca } });
  const keep = createGuestFilter(config.include, config.exclude);
  const url = new URL(config.url);
  return {
    name: config.name,
    kind: 'proxmox',
    async listVms() {
      const fetch = async (input: string | URL, init?: RequestInit) => {
        const res = await undiciFetch(input, { ...init, dispatcher });
        const body = await readWhole(res);
        sample(); // the body
        return new WholeBodyResponse(body, { status: res.status, statusText: res.statusText, headers: res.headers });
      };
      const px = proxmoxApi({
        host: url.hostname,
        port: Number(url.port),
        schema: 'https',
        tokenID: config.tokenId,
        tokenSecret: config.tokenSecret,
        queryTimeout: config.timeoutMs,
        fetch: fetch as unknown as NonNullable<ProxmoxEngineOptions['fetch']>,
      });
      const data = await px.cluster.resources.$get({ type: 'vm' });
      const list = guestListSchema.parse(data);
      const { vms, rejected } = buildListing(config.name, list, keep);
      sample(); // every raw entry + every record
      return { vms, rejected };
    },
    async close() {
      await dispatcher.close();
    },
  };
}

// ---------------------------------------------------------------- worker

async function worker(variant: string, url: string, caFile: string, runs: number, batchBytes: number | undefined): Promise<WorkerResult> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('the worker needs --expose-gc');
  const config = proxmoxSourceSchema.parse({ name: 'bench', type: 'proxmox', url, tokenId: TOKEN_ID, tokenSecret: TOKEN_SECRET, tls: { caFile }, timeoutMs: 120_000 });
  const logger = pino({ level: 'silent' });
  let source: VmSource;
  if (variant === 'old') {
    source = oldSource(config, await readFile(caFile, 'utf8'));
  } else if (variant === 'new' && batchBytes !== undefined) {
    const client = new ProxmoxClient(config, undefined, { batchBytes });
    source = {
      name: config.name,
      kind: 'proxmox',
      listVms: async (signal) => {
        const b = await client.listGuests(signal, () => new ListingBuilder(config.name));
        return { vms: b.vms, rejected: b.rejected };
      },
      close: () => client.close(),
    };
  } else if (variant === 'new') {
    source = createProxmoxSource(config, { logger });
  } else if (variant.startsWith('module:')) {
    const mod = (await import(pathToFileURL(resolve(variant.slice('module:'.length))).href)) as { createProxmoxSource: typeof createProxmoxSource };
    source = mod.createProxmoxSource(config, { logger });
  } else {
    throw new Error(`unknown variant ${variant}`);
  }
  const signal = new AbortController().signal;
  let last = await source.listVms(signal); // warm-up: JIT, connection, the simulator's body cache
  const out: Run[] = [];
  const timer = setInterval(sample, 1);
  for (let i = 0; i < runs; i++) {
    last = undefined as unknown as typeof last;
    // The settled promise of the previous listing keeps its result until the next macrotask.
    await new Promise((r) => setTimeout(r, 20));
    gc();
    gc();
    const before = process.memoryUsage();
    const base = (peak = before.heapUsed + before.arrayBuffers);
    peakBuffers = before.arrayBuffers;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    last = await source.listVms(signal);
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    sample(); // the records
    gc();
    const after = process.memoryUsage();
    out.push({
      wallMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      peakExtraMiB: (peak - base) / MIB,
      peakBuffersMiB: (peakBuffers - before.arrayBuffers) / MIB,
      resultMiB: (after.heapUsed + after.arrayBuffers - base) / MIB,
    });
  }
  clearInterval(timer);
  await source.close();
  return { variant, runs: out, maxRssMiB: process.resourceUsage().maxRSS / 1024, vms: last.vms.length, rejected: last.rejected.length };
}

// ---------------------------------------------------------------- coordinator

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      worker: { type: 'string' },
      url: { type: 'string' },
      ca: { type: 'string' },
      runs: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '2' },
      variants: { type: 'string', default: 'old,new' },
      'batch-kib': { type: 'string' },
      'semi-space-mib': { type: 'string' },
    },
  });
  const runs = Number(values.runs);
  const batchBytes = values['batch-kib'] !== undefined ? Number(values['batch-kib']) * 1024 : undefined;
  if (values.worker) {
    const result = await worker(values.worker, values.url!, values.ca!, runs, batchBytes);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }

  const guests = Number(positionals[0] ?? 60_000);
  const variants = values.variants.split(',').filter(Boolean);
  const rounds = Number(values.rounds);
  const dir = mkdtempSync(join(tmpdir(), 'proxmox-listing-bench-'));
  const sim = await spawnReady<{ url: string; caFile: string }>(
    join(dist, 'simulators/proxmox/main.js'),
    ['--vms', String(guests), '--nodes', '4', '--seed', '1', '--token-id', TOKEN_ID, '--token-secret', TOKEN_SECRET],
    { logFile: join(dir, 'simulator.log') },
  );
  try {
    const results = new Map<string, WorkerResult[]>(variants.map((v) => [v, []]));
    // A small young generation makes the heap peak show what is live rather than uncollected garbage.
    const nodeArgs = ['--expose-gc', ...(values['semi-space-mib'] !== undefined ? [`--max-semi-space-size=${values['semi-space-mib']}`] : [])];
    for (let round = 0; round < rounds; round++) {
      // Alternate the order so neither variant always runs first.
      const order = round % 2 === 0 ? variants : [...variants].reverse();
      for (const variant of order) {
        const args = ['--worker', variant, '--url', sim.ready.url, '--ca', sim.ready.caFile, '--runs', String(runs)];
        if (values['batch-kib'] !== undefined) args.push('--batch-kib', values['batch-kib']);
        const r = await runToResult<WorkerResult>(self, args, { logFile: join(dir, `${variant.replace(/[^a-z0-9]+/gi, '_')}.log`), nodeArgs });
        results.get(variant)!.push(r);
      }
    }
    const m = machineInfo();
    const out: string[] = [
      `${guests} guests, ${runs} listings x ${rounds} fresh processes per variant (after one warm-up each), node ${nodeArgs.join(' ')}; ${m.cpuModel}, ${m.cores} cores, ${m.node}`,
      `${'variant'.padEnd(12)} ${'wall ms (median / min)'.padStart(24)} ${'CPU ms (median)'.padStart(16)} ${'peak extra heap+ab MiB (median / max)'.padStart(38)} ${'of it buffers'.padStart(14)} ${'result alone'.padStart(13)} ${'max RSS MiB'.padStart(12)}  result`,
    ];
    const label = (variant: string) => (variant.startsWith('module:') ? `module${variants.filter((v) => v.startsWith('module:')).indexOf(variant) + 1}` : variant);
    for (const [variant, list] of results) {
      const all = list.flatMap((r) => r.runs);
      const wall = all.map((r) => r.wallMs);
      const heap = all.map((r) => r.peakExtraMiB);
      out.push(
        [
          label(variant).padEnd(12),
          `${median(wall).toFixed(0)} / ${Math.min(...wall).toFixed(0)}`.padStart(24),
          median(all.map((r) => r.cpuMs)).toFixed(0).padStart(16),
          `${median(heap).toFixed(1)} / ${Math.max(...heap).toFixed(1)}`.padStart(38),
          median(all.map((r) => r.peakBuffersMiB)).toFixed(1).padStart(14),
          median(all.map((r) => r.resultMiB)).toFixed(1).padStart(13),
          Math.max(...list.map((r) => r.maxRssMiB)).toFixed(0).padStart(12),
          ` ${list[0]!.vms} vms, ${list[0]!.rejected} rejected`,
        ].join(' '),
      );
    }
    for (const v of variants) if (v.startsWith('module:')) out.push(`${label(v)} = createProxmoxSource from ${v.slice('module:'.length)}`);
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`proxmox-listing-bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
