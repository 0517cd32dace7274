// Drives the daemon worker process from the benchmark: fork it, ask for passes, stop it.
import { fork, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { DAEMON_ENV, DAEMON_NODE_FLAGS } from '../util/heap.js';
import { stopChild } from './child.js';
import type { PassMeasurement, PassRequest } from './protocol.js';

/** The daemon under test, in its own process. */
export class DaemonProcess {
  private passes = 0;

  private constructor(private readonly proc: ChildProcess) {}

  /** Passes asked of this process so far (the first one starts its daemon). */
  get passesRun(): number {
    return this.passes;
  }

  /** Forks the worker with the config and the Node flags and environment the daemon ships with (plus `nodeArgs`); its JSON log lines go to `logFile`. */
  static async start(script: string, configPath: string, logFile: string, nodeArgs: readonly string[] = []): Promise<DaemonProcess> {
    const fd = openSync(logFile, 'a');
    const proc = fork(script, [configPath], { stdio: ['ignore', fd, fd, 'ipc'], execArgv: [...DAEMON_NODE_FLAGS, ...nodeArgs], env: { ...process.env, ...DAEMON_ENV } });
    await new Promise<void>((resolve, reject) => {
      proc.once('message', () => resolve());
      proc.once('exit', (code) => reject(new Error(`daemon worker exited (${code}) before it was ready; see ${logFile}`)));
    });
    return new DaemonProcess(proc);
  }

  /** Runs one pass and returns the worker's measurement of it. */
  pass(request: PassRequest = {}): Promise<PassMeasurement> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`daemon worker died during a pass (${code})`));
      this.proc.once('exit', onExit);
      this.proc.once('message', (m: PassMeasurement | { error: string }) => {
        this.proc.off('exit', onExit);
        if ('error' in m) reject(new Error(`daemon worker: ${m.error}`));
        else resolve(m);
      });
      this.passes++;
      this.proc.send(request);
    });
  }

  /** Stops the daemon cleanly (closes the state file), killing it if it hangs. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    if (this.proc.connected) this.proc.send({ stop: true });
    const timer = setTimeout(() => void stopChild(this.proc, 2000), 15_000);
    await exited;
    clearTimeout(timer);
  }
}
