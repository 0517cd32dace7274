// `npm run bench` is not run by CI (minutes, and its figures depend on the machine), so this
// runs it once at a tiny size to keep the tooling from rotting: every process starts and stops,
// every pass and pair is measured, the report holds every target row, and the properties that do
// not depend on the machine — a steady pass sends the panel nothing and reads each source and
// billing once, and a restarted daemon's first pass sends the panel nothing — are met. Speed
// verdicts are not asserted: at 200 VMs on a shared machine they mean nothing.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { SizeResult } from '../../src/bench/scenario.js';

const bench = fileURLToPath(new URL('../../dist/bench/bench.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The raw figures RESULTS.md carries in its JSON block. */
function resultsIn(md: string): SizeResult[] {
  return JSON.parse(md.split('```json')[1]!.split('```')[0]!) as SizeResult[];
}

describe('npm run bench at 200 VMs', () => {
  it('measures every pass and pair and writes a report with every target', async () => {
    const out = join(dir, 'RESULTS.md');
    const { stdout } = await promisify(execFile)(process.execPath, [bench, '--sizes', '200', '--repeats', '2', '--initial-repeats', '2', '--quiet-load', '0', '--out', out], { maxBuffer: 16 * 1024 * 1024 });

    const md = readFileSync(out, 'utf8');
    expect(md).toMatch(/\| 200 \| restart \(new process, same state\) \|/);
    const results = resultsIn(md);
    expect(results).toHaveLength(1);
    const r = results[0]!;
    expect(r.steady).toHaveLength(2);
    expect(r.initialPairs).toHaveLength(2);
    for (const pair of r.initialPairs) {
      expect(pair.generator.perSecond).toBeGreaterThan(0);
      // Each initial sync starts from an empty panel and a fresh state file: all it sends are creates, all answered.
      const creates = pair.initial.requests.panel['create'] ?? 0;
      expect(creates).toBeGreaterThan(150);
      expect(pair.initial.requests.panelTotal).toBe(creates);
      expect(pair.initial.panelRows).toBe(creates);
      expect(pair.initial.m.summary.result).toBe('success');
      expect(pair.initial.m.summary.actions).toMatchObject({ planned: creates, ok: creates });
      expect(pair.initial.m.sending.eventLoopBusy).toBeGreaterThan(0);
      // The panel's own CPU, for the per-create budget: it served every create of the sync, and the generator's run with its warm-up.
      expect(pair.initial.panelCpuMs).toBeGreaterThan(0);
      expect(pair.generator.panelCpuMs).toBeGreaterThan(0);
      expect(pair.generator.panelRequests).toBeGreaterThanOrEqual(pair.generator.requests);
    }
    expect(r.cores).toBeGreaterThan(0);
    expect(r.ceiling?.fresh.requests).toBe(200);
    // A new daemon process on the same state file, with nothing changed since the last pass. Its
    // vSphere calls are reported, not asserted: whether it fetches per-VM details again depends on
    // whether the source keeps its detail cache in the state file.
    expect(r.restart.m.summary.result).toBe('success');
    expect(r.restart.requests.panelTotal).toBe(0);
    expect(r.restart.m.summary.actions.planned).toBe(0);
    expect(r.restart.panelRows).toBe(r.afterDrift.panelRows);

    const targets = md.slice(md.indexOf('## Targets'), md.indexOf('## Linearity'));
    expect(targets).toMatch(/\| 200 \| steady state: 0 panel requests \| 0 \(max over 3 passes\) \| met \|/);
    expect(targets).toMatch(/\| 200 \| steady state: 1 call per Proxmox cluster \(2\) \+ the vSphere shard listings \+ 1 billing query \|[^|]*\| met \|/);
    expect(targets).toMatch(/\| 200 \| steady pass ≤ 2× the fetch-and-parse floor \|/);
    expect(targets).toMatch(/\| 200 \| restart: 0 panel requests; vSphere calls = the shard listings only \(no per-VM calls\) \| panel 0; vSphere /);
    expect(targets).toMatch(/\| 200 \| initial sync ≥ 80% of the panel simulator’s ceiling at the same concurrency \| sending \/ the warm generator measured just before it: median \d+% of 2 pairs.*What 80% asks on \d+ cores: sending [\d,]+\/s leaves a client \d+ µs per create on one event loop and -?\d+ µs of CPU beside the panel's \d+ µs per request/);
    expect(stdout).toContain(`wrote ${out}`);
  }, 180_000);

  it('with --panel-latency-ms, every create waits for the panel as long as asked (a real panel’s pace)', async () => {
    const out = join(dir, 'RESULTS-latency.md');
    const args = ['--sizes', '100', '--repeats', '1', '--initial-repeats', '1', '--no-ceiling', '--quiet-load', '0', '--panel-latency-ms', '20', '--out', out];
    await promisify(execFile)(process.execPath, [bench, ...args], { maxBuffer: 16 * 1024 * 1024 });

    const md = readFileSync(out, 'utf8');
    const r = resultsIn(md)[0]!;
    expect(r.panelLatencyMs).toBe(20);
    expect(md).toContain('the panel simulator answers each sync call after 20 ms');
    const creates = r.initial.requests.panel['create'] ?? 0;
    expect(creates).toBeGreaterThan(50);
    expect(r.initial.m.summary.actions).toMatchObject({ planned: creates, ok: creates });
    // At concurrency c, creates that each wait 20 ms cannot finish sooner than ceil(creates / c) rounds of 20 ms
    // (without the latency, ~100 creates take a few tens of milliseconds).
    expect(r.initial.m.applyMs).toBeGreaterThanOrEqual(Math.ceil(creates / r.concurrency) * 20);
  }, 120_000);
});
