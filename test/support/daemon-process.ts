// The real daemon (`node dist/cli.js run`) as a child process, watched through its /status.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DaemonStatus } from '../../src/engine/control.js';
import { GiveUp, waitFor } from './wait.js';

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface DaemonProcess {
  readonly child: ChildProcess;
  /** Base URL of its HTTP endpoints. */
  readonly url: string;
  /** Everything it wrote to stdout/stderr so far. */
  output(): string;
  status(): Promise<DaemonStatus>;
  /** Resolves with the first finished pass whose id is greater than `afterId`. */
  passAfter(afterId: number, timeoutMs?: number): Promise<DaemonStatus['lastPasses'][number]>;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** The exit code once it has exited (null: ended by a signal). */
  readonly exited: Promise<number | null>;
}

/**
 * Starts `run --config <path>`; the config must set `http.listen` to `127.0.0.1:<httpPort>`.
 * `spawned` runs as soon as the process exists, before it listens (to signal it while it starts).
 */
export async function startDaemon(configPath: string, httpPort: number, env: NodeJS.ProcessEnv = {}, spawned?: (child: ChildProcess) => void): Promise<DaemonProcess> {
  const child = spawn(process.execPath, [cli, 'run', '--config', configPath], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  spawned?.(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const url = `http://127.0.0.1:${httpPort}`;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const status = async (): Promise<DaemonStatus> => (await (await fetch(`${url}/status`)).json()) as DaemonStatus;
  await waitFor('the daemon to listen', async () => {
    if (child.exitCode !== null || child.signalCode !== null) throw new GiveUp(`daemon exited with ${child.exitCode ?? child.signalCode}: ${out}`);
    return (await fetch(`${url}/healthz`)).ok ? true : undefined;
  });
  return {
    child,
    url,
    output: () => out,
    status,
    exited,
    passAfter: (afterId, timeoutMs = 20_000) =>
      waitFor(
        `a pass after #${afterId}`,
        async () => {
          if (child.exitCode !== null) throw new GiveUp(`daemon exited with ${child.exitCode}: ${out}`);
          const last = (await status()).lastPasses.find((p) => p.id > afterId && p.result !== 'running');
          return last;
        },
        timeoutMs,
      ),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
