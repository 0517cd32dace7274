// `node dist/bench/store-bench.js [--n 50000] [--batch 5,8,64] [--reps 3] [--mode store|outbox] [--dir DIR] [--pragma 'wal_autocheckpoint = 4000']…`
//
// The outbox's SQLite cost per create, alone: what the initial sync of N VMs pays the state store
// for journaling each create (in_flight, committed before the send) and resolving it (outcome +
// snapshot row, one transaction), with the real StateStore on a real file (WAL, synchronous=NORMAL).
//
// mode `store`: exactly `batch` calls per transaction, like OutboxBatch at concurrency 8 under load:
//   each transaction resolves the previous transaction's creates and journals the next `batch`.
// mode `outbox`: through OutboxBatch itself, `batch` workers whose panel answers on the next
//   event-loop turn (so ~`batch` calls per transaction, plus the batch's own promise machinery).
//
// Prints µs of process CPU (user+sys) and of wall time per create, min and median over the
// repetitions (other work shares this machine: the min is the better estimate of the cost, the
// median says how noisy it was). A short unmeasured run first warms the JIT. `--pragma` (repeatable)
// runs a PRAGMA on the store's connection after open, to try a setting before changing the store.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { vmKey, type Action } from '../domain/types.js';
import { OutboxBatch } from '../engine/outbox-batch.js';
import { journaledEntry, type Resolution } from '../store/outbox-journal.js';
import { StateStore } from '../store/state-store.js';

interface Options {
  readonly n: number;
  readonly batches: readonly number[];
  readonly reps: number;
  readonly mode: 'store' | 'outbox';
  readonly dir: string | null;
  readonly pragmas: readonly string[];
}

interface Run {
  readonly cpuUs: number;
  readonly sysUs: number;
  readonly wallUs: number;
  readonly transactions: number;
  readonly bytes: number;
}

function parseArgs(argv: readonly string[]): Options {
  const opts: { n: number; batches: number[]; reps: number; mode: 'store' | 'outbox'; dir: string | null; pragmas: string[] } = {
    n: 50_000,
    batches: [5, 8, 64],
    reps: 3,
    mode: 'store',
    dir: null,
    pragmas: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    i++;
    switch (flag) {
      case '--n':
        opts.n = positive(flag, value);
        break;
      case '--batch':
        opts.batches = value.split(',').map((v) => positive(flag, v));
        break;
      case '--reps':
        opts.reps = positive(flag, value);
        break;
      case '--mode':
        if (value !== 'store' && value !== 'outbox') throw new Error('--mode is store or outbox');
        opts.mode = value;
        break;
      case '--dir':
        opts.dir = value;
        break;
      case '--pragma':
        opts.pragmas.push(value);
        break;
      default:
        throw new Error(`unknown option ${flag} (see the comment at the top of src/bench/store-bench.ts)`);
    }
  }
  return opts;
}

function positive(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag}: not a positive integer: ${value}`);
  return n;
}

/** The i-th create of an initial sync: Proxmox vmids from 100 up, as the benchmark world lists them. */
function createAction(i: number): Action {
  const userId = 1 + (i % 5000);
  const externalId = String(100 + i);
  const key = vmKey('pve-a', externalId);
  return {
    kind: 'create',
    key,
    reason: 'missing_on_panel',
    desired: {
      key,
      source: 'pve-a',
      externalId,
      owner: { userId, billingId: String(1000 + i) },
      fields: { user_id: userId, name: `vm-${externalId}.example.net`, cpu: 2, ram: 4096, disk: 40, os: 'Debian 12', status: 'running', hypervisor: 'proxmox' },
    },
  };
}

/** Counts transactions: every resolveAndJournal call is one. */
function counting(store: StateStore): { store: StateStore; transactions: () => number } {
  let transactions = 0;
  const original = store.resolveAndJournal.bind(store);
  store.resolveAndJournal = (resolutions, calls) => {
    transactions++;
    return original(resolutions, calls);
  };
  return { store, transactions: () => transactions };
}

function runStore(store: StateStore, n: number, batch: number): void {
  let pending: { id: number; action: Action; panelId: number }[] = [];
  const created = (p: { id: number; action: Action; panelId: number }) => ({
    outboxId: p.id,
    resolution: { outcome: 'created', panelId: p.panelId } as Resolution,
    now: Date.now(),
    action: p.action,
  });
  for (let i = 0; i < n; i += batch) {
    const calls: { action: Action; passId: number; now: number }[] = [];
    const now = Date.now();
    for (let j = i; j < Math.min(n, i + batch); j++) calls.push({ action: createAction(j), passId: 1, now });
    const entries = store.resolveAndJournal(pending.map(created), calls);
    pending = entries.map((e, k) => ({ id: journaledEntry(e).id, action: calls[k]!.action, panelId: i + k + 1 }));
  }
  store.resolveAndJournal(pending.map(created), []);
}

async function runOutbox(store: StateStore, n: number, concurrency: number): Promise<void> {
  const outbox = new OutboxBatch(store, 1);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      const action = createAction(i);
      const { id } = journaledEntry(await outbox.journal(action, Date.now()));
      await new Promise<void>((answered) => setImmediate(answered)); // the panel answers on a later turn
      outbox.resolve(id, action, { outcome: 'created', panelId: i + 1 }, Date.now());
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  outbox.close();
}

function fileBytes(path: string): number {
  let total = 0;
  for (const p of [path, `${path}-wal`]) {
    try {
      total += statSync(p).size;
    } catch {
      // no WAL after a checkpoint on close
    }
  }
  return total;
}

async function once(opts: Options, batch: number): Promise<Run> {
  const dir = mkdtempSync(join(opts.dir ?? tmpdir(), 'store-bench-'));
  const path = join(dir, 'state.db');
  try {
    const { store, transactions } = counting(new StateStore({ path }));
    store.open();
    // The connection is private to the store; a benchmark may reach in to try a setting.
    for (const pragma of opts.pragmas) (store as unknown as { db: Database }).db.pragma(pragma);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    if (opts.mode === 'store') runStore(store, opts.n, batch);
    else await runOutbox(store, opts.n, batch);
    const wallUs = (performance.now() - t0) * 1000;
    const cpu = process.cpuUsage(cpu0);
    const bytes = fileBytes(path);
    store.close();
    return { cpuUs: (cpu.user + cpu.system) / opts.n, sysUs: cpu.system / opts.n, wallUs: wallUs / opts.n, transactions: transactions(), bytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const f1 = (x: number): string => x.toFixed(1);

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  console.log(`store-bench: ${opts.n} creates, mode ${opts.mode}, ${opts.reps} repetition(s) per batch size, node ${process.version}${opts.pragmas.map((p) => `, PRAGMA ${p}`).join('')}`);
  await once({ ...opts, n: Math.min(opts.n, 10_000) }, opts.batches[0]!); // warm-up, not reported
  console.log('batch  calls/txn  CPU µs/create min (med)  of which sys  wall µs/create min (med)  file MB');
  for (const batch of opts.batches) {
    const runs: Run[] = [];
    for (let r = 0; r < opts.reps; r++) runs.push(await once(opts, batch));
    const best = runs.reduce((a, b) => (b.cpuUs < a.cpuUs ? b : a));
    const cpu = runs.map((r) => r.cpuUs);
    const wall = runs.map((r) => r.wallUs);
    console.log(
      `${String(batch).padStart(5)}  ${f1(opts.n / best.transactions).padStart(9)}  ${`${f1(Math.min(...cpu))} (${f1(median(cpu))})`.padStart(23)}  ${f1(best.sysUs).padStart(12)}  ${`${f1(Math.min(...wall))} (${f1(median(wall))})`.padStart(24)}  ${(best.bytes / 1e6).toFixed(1).padStart(7)}`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
