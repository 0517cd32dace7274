// The vSphere simulator as its own process, as the benchmark runs it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Agent, fetch } from 'undici';
import { beforeAll, expect, test } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');

// The compiled entry point, exactly what the benchmark spawns (`npm test` builds first).
const MAIN = join(ROOT, 'dist/simulators/vsphere/main.js');
beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first`);
});

function run(args: string[]): ChildProcess {
  return spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((res, rej) => {
    createInterface({ input: child.stdout! }).once('line', res);
    child.once('exit', (code) => rej(new Error(`exited with ${code}`)));
  });
}

test('prints {url, caFile} when ready, serves the seeded inventory, exits 0 on SIGTERM', async () => {
  const child = run(['--port', '0', '--vms', '5000', '--clusters', '3', '--username', 'u@vsphere.local', '--password', 'pw', '--seed', '3', '--flavors', 'rest']);
  const { url, caFile } = JSON.parse(await firstLine(child)) as { url: string; caFile: string };
  expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  const agent = new Agent({ connect: { ca: readFileSync(caFile, 'utf8') } });
  try {
    const login = await fetch(`${url}/rest/com/vmware/cis/session`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from('u@vsphere.local:pw').toString('base64')}` }, dispatcher: agent });
    const session = ((await login.json()) as { value: string }).value;
    const clusters = await fetch(`${url}/rest/vcenter/cluster`, { headers: { 'vmware-api-session-id': session }, dispatcher: agent });
    expect(((await clusters.json()) as { value: unknown[] }).value).toHaveLength(3);
    const api = await fetch(`${url}/api/session`, { method: 'POST', dispatcher: agent });
    expect(api.status).toBe(404);
    await api.text();
    const summary = await fetch(`${url}/_sim/inventory`, { dispatcher: agent });
    expect(await summary.json()).toMatchObject({ vms: 5000, clusters: 3 });
  } finally {
    await agent.close();
  }
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(existsSync(caFile)).toBe(false);
});

test('bad arguments exit 2 with a message naming the option', async () => {
  const child = run(['--flavors', 'soap']);
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  expect(await new Promise<number | null>((r) => child.once('exit', r))).toBe(2);
  expect(stderr).toMatch(/--flavors/);
});
