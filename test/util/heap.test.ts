// withSemiSpace (src/util/heap.ts) in a real process started like the daemon (DAEMON_NODE_FLAGS:
// --max-semi-space-size=8) with real worker threads. Why it matters: the daemon's billing thread is
// created through withSemiSpace(1, ...), because with that flag on the command line a worker's
// resourceLimits.maxYoungGenerationSizeMb is ignored and each worker would get the process's 16 MiB
// new space. This relies on V8 reading the flag only when a heap is created; if a Node/V8 upgrade
// changes that, the billing thread's memory grows by ~14 MiB (or the main thread's young generation
// shrinks) and this test says so. The child script imports the BUILT module (`npm run build` first).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAEMON_NODE_FLAGS } from '../../src/util/heap.js';

const heapModule = new URL('../../dist/util/heap.js', import.meta.url).href;

// Child: grows main's new space to its maximum, then (mode "worker") starts a worker through
// withSemiSpace(1) and, once that one is online, a plain worker; or (mode "throws") calls
// withSemiSpace with a throwing `create`, then starts a plain worker. Sizes are in MiB.
const CHILD = `
import { Worker } from 'node:worker_threads';
import { getHeapSpaceStatistics } from 'node:v8';
const { withSemiSpace } = await import(process.argv[2]);
const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576;
const CHURN = 'let keep = []; for (let i = 0; i < 2e6; i++) { keep.push({ i, s: "x" + i }); if (keep.length > 5e4) keep = []; }';
const code = "const { parentPort } = require('node:worker_threads'); const v8 = require('node:v8');" + CHURN +
  "parentPort.postMessage(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576);";
const result = (w) => new Promise((res, rej) => { w.once('message', res); w.once('error', rej); }).finally(() => w.terminate());
new Function(CHURN)();
const out = { mainBefore: newSpace() };
let small;
if (process.argv[3] === 'throws') {
  try { withSemiSpace(1, () => { throw new Error('boom'); }); } catch (err) { out.error = err.message; }
} else {
  const w = withSemiSpace(1, () => new Worker(code, { eval: true }));
  small = result(w);
  await new Promise((r) => w.once('online', r));
}
const plain = result(new Worker(code, { eval: true }));
[out.small, out.plain] = await Promise.all([small, plain]);
new Function(CHURN)();
out.main = newSpace();
console.log(JSON.stringify(out));
`;

interface Report { mainBefore: number; main: number; plain: number; small?: number; error?: string }

let dir: string;
const reports: Record<'worker' | 'throws', Report> = {} as never;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'heap-test-'));
  const script = join(dir, 'child.mjs');
  writeFileSync(script, CHILD);
  const run = async (mode: 'worker' | 'throws'): Promise<void> => {
    const { stdout } = await promisify(execFile)(process.execPath, [...DAEMON_NODE_FLAGS, script, heapModule, mode], { timeout: 20_000 });
    reports[mode] = JSON.parse(stdout.trim().split('\n').at(-1)!) as Report;
  };
  await Promise.all([run('worker'), run('throws')]);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('withSemiSpace in a process started with DAEMON_NODE_FLAGS', () => {
  it('is started with --max-semi-space-size=8 (the sizes below assume it)', () => {
    expect(DAEMON_NODE_FLAGS).toContain('--max-semi-space-size=8');
  });

  it.each([
    ['the worker created through withSemiSpace(1) has a small new space (≤ 4 MiB)', 'small', (v: number) => v <= 4],
    ['a worker created afterwards gets the process setting back (≥ 8 MiB)', 'plain', (v: number) => v >= 8],
    ['the main thread grew its new space to 16 MiB before', 'mainBefore', (v: number) => v === 16],
    ['the main thread keeps its 16 MiB new space', 'main', (v: number) => v === 16],
  ] as const)('%s', (_name, key, ok) => {
    const value = reports.worker[key];
    expect(ok(value ?? NaN), `${key} new space = ${value} MiB (${JSON.stringify(reports.worker)})`).toBe(true);
  });

  it('propagates an error thrown by create and restores the flag', () => {
    const r = reports.throws;
    expect(r.error).toBe('boom');
    expect(r.plain, `plain worker new space = ${r.plain} MiB (${JSON.stringify(r)})`).toBeGreaterThanOrEqual(8);
    expect(r.main).toBe(16);
  });
});
