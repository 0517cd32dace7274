// The real daemon (`node dist/cli.js run --config X`) as a child process the chaos suite can
// SIGKILL and restart. It is watched through its HTTP endpoints (/healthz, POST /resync).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The compiled CLI; `npm test` builds it first (`pretest`). */
export const CLI_JS = fileURLToPath(new URL('../../../dist/cli.js', import.meta.url));

/** Throws a readable error when dist/ was not built. */
export function requireBuiltCli(): void {
  if (!existsSync(CLI_JS)) throw new Error(`${CLI_JS} is missing: run "npm run build" first (npm test does it in pretest)`);
}

/** A free loopback TCP port (bound then released; good enough for tests). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How one child run ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** One daemon across restarts: `start()`, `kill()`, `start()` again… */
export class DaemonProc {
  private child: ChildProcess | null = null;
  private exited: Promise<Exit> | null = null;
  private log = '';
  /** Exits nobody asked for (a crash, or "state file in use"). */
  readonly unexpectedExits: string[] = [];
  private expectingExit = false;
  starts = 0;

  constructor(
    private readonly configPath: string,
    private readonly httpPort: number,
    private readonly adminToken: string,
  ) {}

  get running(): boolean {
    return this.child !== null;
  }

  /** Everything the daemon processes wrote, last 400 kB. */
  output(): string {
    return this.log;
  }

  private append(text: string): void {
    this.log += text;
    if (this.log.length > 600_000) this.log = this.log.slice(-400_000);
  }

  /** Spawns `run` and waits until /healthz answers. */
  async start(): Promise<void> {
    if (this.child) throw new Error('daemon already running');
    this.starts++;
    this.append(`\n----- start #${this.starts} at ${new Date().toISOString()} -----\n`);
    const child = spawn(process.execPath, [CLI_JS, 'run', '--config', this.configPath], {
      env: { PATH: process.env.PATH },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.expectingExit = false;
    child.stdout!.on('data', (d: Buffer) => this.append(d.toString()));
    child.stderr!.on('data', (d: Buffer) => this.append(d.toString()));
    this.exited = new Promise<Exit>((resolve) =>
      child.once('exit', (code, signal) => {
        if (this.child === child) this.child = null;
        if (!this.expectingExit) this.unexpectedExits.push(`daemon start #${this.starts} exited by itself: code ${code}, signal ${signal}`);
        this.append(`----- exit: code ${code}, signal ${signal} -----\n`);
        resolve({ code, signal });
      }),
    );
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (this.child !== child) throw new Error(`the daemon exited during start-up:\n${this.log.slice(-3000)}`);
      try {
        const res = await fetch(`http://127.0.0.1:${this.httpPort}/healthz`, { signal: AbortSignal.timeout(500) });
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await sleep(20);
    }
    throw new Error(`the daemon did not answer /healthz within 15 s:\n${this.log.slice(-3000)}`);
  }

  /** Sends a signal and waits for the process to be gone. */
  async kill(signal: NodeJS.Signals): Promise<Exit> {
    const child = this.child;
    const exited = this.exited;
    if (!child || !exited) return { code: null, signal: null };
    this.expectingExit = true;
    this.append(`----- ${signal} at ${new Date().toISOString()} -----\n`);
    child.kill(signal);
    return exited;
  }

  /**
   * Asks the running daemon for a pass (POST /resync, with `force` as `resync --force`); false when
   * it is not running or did not accept.
   */
  async requestPass(options: { force?: boolean } = {}): Promise<boolean> {
    if (!this.child) return false;
    try {
      const res = await fetch(`http://127.0.0.1:${this.httpPort}/resync${options.force ? '?force=1' : ''}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.adminToken}` },
        signal: AbortSignal.timeout(2000),
      });
      await res.text();
      return res.status === 202;
    } catch {
      return false;
    }
  }
}
