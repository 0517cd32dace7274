// Entry point of the standalone Proxmox simulator (dist/simulators/proxmox/main.js): prints one
// JSON line `{"url", "caFile"}` on stdout when ready, stops cleanly on SIGTERM/SIGINT.
import { runCli, USAGE } from './cli.js';

/** Runs the simulator until a signal arrives. */
async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const running = await runCli(argv);
  process.stdout.write(`${JSON.stringify(running.ready)}\n`);
  const shutdown = (): void => {
    void running.stop().finally(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`proxmox simulator: ${(err as Error).message}\n`);
  process.exit(2);
});
