// Command-line handling of the standalone simulator, separate from process wiring so tests can
// run it in-process: parse arguments, seed, start, write the CA file, report `{url, caFile}`.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ProxmoxSimulator } from './server.js';

export const USAGE = `usage: proxmox-sim [--port N] [--host 127.0.0.1] [--vms N] [--nodes K] [--seed S]
                   [--token-id USER@REALM!TOKENID] [--token-secret UUID] [--no-tls]`;

export interface RunningCli {
  readonly simulator: ProxmoxSimulator;
  /** The line printed on stdout once ready. */
  readonly ready: { url: string; caFile: string | null };
  /** Stops the simulator and deletes the CA file. */
  stop(): Promise<void>;
}

/** Parses a non-negative integer option, with a message naming the option. */
function int(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new Error(`--${name} must be a non-negative integer, got "${value}"\n${USAGE}`);
  return Number(value);
}

/** Starts a seeded simulator from command-line arguments (without the node/script prefix). */
export async function runCli(argv: readonly string[]): Promise<RunningCli> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      vms: { type: 'string' },
      nodes: { type: 'string' },
      seed: { type: 'string' },
      'token-id': { type: 'string', default: 'sync@pve!daemon' },
      'token-secret': { type: 'string', default: '00000000-0000-4000-8000-000000000000' },
      'no-tls': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const simulator = new ProxmoxSimulator({
    tokens: [{ tokenId: values['token-id'], secret: values['token-secret'] }],
    tls: !values['no-tls'],
    host: values.host,
    port: int('port', values.port, 0),
  });
  simulator.inventory.seed(int('vms', values.vms, 0), { nodes: int('nodes', values.nodes, 3), seed: int('seed', values.seed, 1) });
  const { url, caPem } = await simulator.start();
  let dir: string | undefined;
  let caFile: string | null = null;
  if (caPem) {
    dir = await mkdtemp(join(tmpdir(), 'proxmox-sim-'));
    caFile = join(dir, 'pve-root-ca.pem');
    await writeFile(caFile, caPem);
  }
  return {
    simulator,
    ready: { url, caFile },
    async stop() {
      await simulator.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}
