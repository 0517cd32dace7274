// The Docker engine is not available to the tests, so the Dockerfile is checked statically and
// its HEALTHCHECK command is run for real against the HTTP server.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../src/http/index.js';
import { createSyncMetrics } from '../../src/metrics/index.js';
import { DAEMON_ENV, DAEMON_NODE_FLAGS } from '../../src/util/heap.js';
import { createLogger } from '../../src/util/logger.js';
import { FakeControl } from '../http/fake-control.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const text = readFileSync(join(root, 'Dockerfile'), 'utf8');

/** Instructions with continuation lines joined and comments dropped. */
const instructions = text
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'))
  .map((l) => {
    const sp = l.indexOf(' ');
    return { op: l.slice(0, sp).toUpperCase(), args: l.slice(sp + 1).trim() };
  });
const stages = instructions.reduce<{ op: string; args: string }[][]>((acc, ins) => {
  if (ins.op === 'FROM') acc.push([]);
  acc.at(-1)?.push(ins);
  return acc;
}, []);
const runtime = stages.at(-1)!;
const find = (stage: typeof runtime, op: string) => stage.filter((i) => i.op === op);

describe('Dockerfile', () => {
  it('builds in a stage with the native toolchain and runs in node:20-bookworm-slim', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    const build = stages[0]!.map((i) => i.args).join('\n');
    expect(build).toMatch(/python3 make g\+\+/);
    expect(build).toMatch(/npm ci/);
    expect(build).toMatch(/npm rebuild better-sqlite3/);
    expect(build).toMatch(/npm run build/);
    expect(build).toMatch(/npm prune --omit=dev/);
    expect(find(runtime, 'FROM')[0]?.args).toMatch(/^\$\{NODE_IMAGE\} AS runtime$/);
  });

  it('runs as a non-root user with a state volume, tini as PID 1 and the daemon as CMD', () => {
    const user = find(runtime, 'USER').at(-1)?.args ?? 'root';
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(find(runtime, 'VOLUME')[0]?.args).toContain('/var/lib/ospab-vps-sync');
    expect(JSON.parse(find(runtime, 'ENTRYPOINT')[0]!.args)).toEqual(['/usr/bin/tini', '--']);
    expect(JSON.parse(find(runtime, 'CMD').at(-1)!.args)).toEqual(['node', ...DAEMON_NODE_FLAGS, 'dist/cli.js', 'run']);
    const env = find(runtime, 'ENV').map((e) => e.args.split(/\s+/)).flat();
    for (const [name, value] of Object.entries(DAEMON_ENV)) expect(env).toContain(`${name}=${value}`);
    expect(find(runtime, 'COPY').map((c) => c.args).join('\n')).not.toMatch(/--from=build \/app\/src/);
  });

  it('keeps secrets and build output out of the context', () => {
    const ignore = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['.git', 'node_modules', 'dist', '.env', '.env.*', '*.db']) expect(ignore).toContain(entry);
    expect(text).not.toMatch(/^ENV .*(API_KEY|TOKEN|PASSWORD|DATABASE_URL)=/m);
  });

  describe('HEALTHCHECK', () => {
    const hc = find(runtime, 'HEALTHCHECK')[0]!.args;
    const argv = JSON.parse(hc.slice(hc.indexOf('CMD') + 3).trim()) as string[];
    let server: HttpServer;
    let url: string;
    beforeAll(async () => {
      server = createHttpServer({
        listen: '127.0.0.1:0', control: new FakeControl(),
        metrics: createSyncMetrics({ version: 'x', processMetrics: false }), logger: createLogger({ level: 'silent', pretty: false }),
      });
      ({ url } = await server.start());
    });
    afterAll(() => server.stop());

    // Asynchronous on purpose: the server under test runs in this very process.
    const runCheck = (target: string): Promise<number | null> =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, argv.slice(1), { env: { ...process.env, VPS_SYNC_HEALTHCHECK_URL: target }, stdio: 'ignore' });
        child.on('exit', (code) => resolve(code));
      });

    it('uses node itself (no curl in the slim image)', () => {
      expect(argv[0]).toBe('node');
      expect(text).toMatch(/VPS_SYNC_HEALTHCHECK_URL=http:\/\/127\.0\.0\.1:9477\/healthz/);
    });
    it('exits 0 when /healthz answers', async () => {
      expect(await runCheck(`${url}/healthz`)).toBe(0);
    });
    it('exits 1 when the daemon does not answer ok', async () => {
      expect(await runCheck(`${url}/nope`)).toBe(1);
      expect(await runCheck('http://127.0.0.1:1/healthz')).toBe(1);
    });
  });
});
