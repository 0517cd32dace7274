// Child processes of the benchmark: start a Node script, wait for the one JSON line it prints
// when ready, and stop it again. Every simulator, floor and the daemon run in their own process,
// so none of them steals the event loop (or the CPU accounting) of another.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** A started child and the JSON it announced itself with. */
export interface ReadyChild<T> {
  readonly proc: ChildProcess;
  readonly ready: T;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  /** Where the child's stderr goes (a file), so a failing simulator can be diagnosed. */
  readonly logFile: string;
  /** Give up waiting for the ready line after this. */
  readonly timeoutMs?: number;
  readonly nodeArgs?: readonly string[];
}

/** Spawns `node script args…` and resolves once it printed its first stdout line (parsed as JSON). */
export function spawnReady<T>(script: string, args: readonly string[], options: SpawnOptions): Promise<ReadyChild<T>> {
  const proc = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  proc.stderr!.pipe(log);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${script} did not get ready within ${options.timeoutMs ?? 60_000} ms (see ${options.logFile})`));
    }, options.timeoutMs ?? 60_000);
    const lines = createInterface({ input: proc.stdout! });
    let done = false;
    lines.once('line', (line) => {
      done = true;
      clearTimeout(timer);
      // Keep draining stdout so a chatty child never blocks on a full pipe.
      proc.stdout!.pipe(log);
      try {
        resolve({ proc, ready: JSON.parse(line) as T, stop: (graceMs) => stopChild(proc, graceMs) });
      } catch {
        proc.kill('SIGKILL');
        reject(new Error(`${script} printed "${line.slice(0, 200)}" instead of its ready JSON`));
      }
    });
    proc.once('exit', (code, signal) => {
      if (done) return;
      clearTimeout(timer);
      reject(new Error(`${script} exited (${signal ?? code}) before it was ready (see ${options.logFile})`));
    });
  });
}

/** Runs `node script args…` to completion and parses the last stdout line as JSON (the floors report this way). */
export function runToResult<T>(script: string, args: readonly string[], options: SpawnOptions): Promise<T> {
  const proc = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  proc.stderr!.pipe(log);
  let out = '';
  proc.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`${script} failed (${signal ?? code}): ${last.slice(0, 300)} (see ${options.logFile})`));
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${script} printed no result JSON: ${last.slice(0, 300)}`));
      }
    });
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process exited. */
export function stopChild(proc: ChildProcess, graceMs = 5000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    proc.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}
