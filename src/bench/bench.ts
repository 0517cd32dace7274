// `npm run bench`: runs the real daemon against simulators in separate processes at several
// sizes, measures each pass and the floors, prints a table and writes bench/RESULTS.md.
// A script, not a test: it is not run in CI. Each size bounds itself (timeouts on every child).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBenchArgs } from './args.js';
import { machineInfo } from './machine.js';
import { markdown, printable } from './report.js';
import { runScenario, type SizeResult } from './scenario.js';

const dist = resolve(dirname(fileURLToPath(import.meta.url)), '..');

async function main(): Promise<void> {
  let args;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(64);
  }
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const work = mkdtempSync(join(tmpdir(), 'vps-sync-bench-'));
  const machine = machineInfo();
  say(`ospab-vps-sync benchmark: sizes ${args.sizes.join(', ')} on ${machine.cpuModel} (${machine.cores} cores), Node ${machine.node}; work dir ${work}`);
  if (args.profileDir) mkdirSync(args.profileDir, { recursive: true });
  const results: SizeResult[] = [];
  const started = performance.now();
  try {
    for (const n of args.sizes) {
      const load = await waitForQuiet(args.quietLoad, 180_000);
      say(`N = ${n} (1-minute load average ${load.toFixed(2)})`);
      const t = performance.now();
      results.push(await runScenario({ ...args, n, dir: join(work, String(n)), dist, loadAverage: load, say }));
      say(`  done in ${((performance.now() - t) / 1000).toFixed(0)} s`);
    }
  } finally {
    if (!args.keep) rmSync(work, { recursive: true, force: true });
  }
  say('');
  say(printable(results));
  say(`\nwhole benchmark: ${((performance.now() - started) / 1000).toFixed(0)} s`);
  if (args.out) {
    mkdirSync(dirname(args.out), { recursive: true });
    const commandLine = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
    writeFileSync(args.out, markdown(results, machine, commandLine));
    say(`wrote ${args.out}`);
  }
}

/** Waits (up to `maxMs`) for the 1-minute load average to fall below `below`, so other work on a shared machine skews less; returns it. */
async function waitForQuiet(below: number, maxMs: number): Promise<number> {
  const deadline = Date.now() + maxMs;
  while (below > 0 && loadavg()[0]! >= below && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5000));
  return loadavg()[0]!;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
