// The vSphere simulator as its own process, as the benchmark runs it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import ts from 'typescript';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, expect, test } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
let dir: string;

// No build step in tests: transpile the simulator and its TLS helper to a scratch dir.
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vsphere-sim-cli-'));
  mkdirSync(join(dir, 'simulators/vsphere'), { recursive: true });
  const files = [
    'simulators/tls.ts',
    ...readdirSync(join(ROOT, 'src/simulators/vsphere')).filter((f) => f.endsWith('.ts')).map((f) => `simulators/vsphere/${f}`),
  ];
  for (const file of files) {
    const out = ts.transpileModule(readFileSync(join(ROOT, 'src', file), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    writeFileSync(join(dir, file.replace(/\.ts$/, '.js')), out.outputText);
  }
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function run(args: string[]): ChildProcess {
  return spawn(process.execPath, [join(dir, 'simulators/vsphere/main.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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
