// Runs the panel simulator as its own process (benchmarks, chaos tests, demo): prints {"url"} when ready.
import { parseCli } from './cli-args.js';
import { PanelSimulator } from './simulator.js';

async function main(): Promise<void> {
  let options;
  try {
    options = parseCli(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`panel-sim: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const sim = new PanelSimulator(options);
  const { url } = await sim.start();
  process.stdout.write(`${JSON.stringify({ url })}\n`);
  const shutdown = () => void sim.stop().then(() => process.exit(0));
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`panel-sim: ${(err as Error).message}\n`);
  process.exit(1);
});
