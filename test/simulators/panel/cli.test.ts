// The simulator as its own process, the way the benchmark and the chaos test run it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCli } from '../../../src/simulators/panel/cli-args.js';
import { API_KEY, control, createVps, sync } from './helpers.js';

const ROOT = resolve(import.meta.dirname, '../../..');

// The compiled entry point, exactly what the benchmark spawns (`npm test` builds first).
const MAIN = join(ROOT, 'dist/simulators/panel/main.js');
beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first`);
});

function run(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env['PATH'], ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((res, rej) => {
    createInterface({ input: child.stdout! }).once('line', res);
    child.once('exit', (code) => rej(new Error(`exited with ${code}`)));
  });
}

describe('panel simulator process', () => {
  it('prints {"url"} when ready, serves the API, and exits 0 on SIGTERM', async () => {
    const child = run(['--port', '0'], { PANEL_SIM_API_KEY: API_KEY });
    const { url } = JSON.parse(await firstLine(child)) as { url: string };
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await sync(url, createVps())).status).toBe(201);
    expect((await control(url, 'GET', '/_sim/stats')).body).toMatchObject({ total: 1, rows: 1 });
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('refuses to start without a key, and never prints one', async () => {
    const child = run([]);
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(2);
    expect(stderr).toContain('an API key is required');
  });
});

describe('parseCli', () => {
  it('reads every option', () => {
    expect(
      parseCli(['--port', '8099', '--api-key', 'k', '--known-users', '1, 2', '--unknown-id', '200', '--success-status', '200', '--seed', '9'], {}),
    ).toEqual({ apiKey: 'k', port: 8099, host: '127.0.0.1', seed: 9, knownUserIds: [1, 2], unknownId: '200', successStatus: 200 });
  });

  it('takes the key from PANEL_SIM_API_KEY', () => {
    expect(parseCli([], { PANEL_SIM_API_KEY: 'from-env' })).toMatchObject({ apiKey: 'from-env', port: 0, knownUserIds: 'any' });
  });

  it.each([
    [['--api-key', 'k', '--port', '70000']],
    [['--api-key', 'k', '--unknown-id', '500']],
    [['--api-key', 'k', '--known-users', 'a,b']],
    [['--api-key', 'k', '--bogus']],
  ])('rejects %j', (args) => {
    expect(() => parseCli(args, {})).toThrow();
  });
});
