// A real Prometheus (Debian's `prometheus` package) scrapes the daemon's HTTP server on loopback
// with the shipped alert rules; drift reported through the observer makes VpsSyncDrift go pending.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRIFT_CLASSES, type DriftClass } from '../../src/domain/types.js';
import { createHttpServer, type HttpServer } from '../../src/http/index.js';
import { createSyncMetrics, type SyncMetrics } from '../../src/metrics/index.js';
import { createLogger } from '../../src/util/logger.js';
import { FakeControl } from '../http/fake-control.js';
import { findTool, missingToolMessage } from './tools.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const prometheusBin = findTool('prometheus');

/** A free loopback port (Prometheus cannot report the port it picked for :0). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Thrown by a probe to stop waiting at once. */
class GiveUp extends Error {}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

describe.skipIf(!prometheusBin)('Prometheus end to end', () => {
  let tmp: string;
  let prom: ChildProcess | undefined;
  let promUrl: string;
  let http: HttpServer;
  let metrics: SyncMetrics;
  let promLog = '';

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'vpssync-prom-'));
    metrics = createSyncMetrics({ version: '0.1.0', sources: ['pve1'] });
    const control = new FakeControl();
    http = createHttpServer({ listen: '127.0.0.1:0', control, metrics, logger: createLogger({ level: 'silent', pretty: false }) });
    const { url } = await http.start();
    copyFileSync(join(root, 'config/prometheus/alerts.yml'), join(tmp, 'alerts.yml'));
    writeFileSync(join(tmp, 'prometheus.yml'), [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'rule_files: [alerts.yml]',
      'scrape_configs:',
      '  - job_name: ospab-vps-sync',
      `    static_configs: [{ targets: ['${new URL(url).host}'] }]`,
      '',
    ].join('\n'));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prom = spawn(prometheusBin!, [
      `--config.file=${join(tmp, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(tmp, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    prom.stderr?.on('data', (d: Buffer) => { promLog += d.toString(); });
    await waitFor('Prometheus to be ready', async () => {
      // Fail fast (with its own words) when Prometheus exits, e.g. on a port taken meanwhile.
      if (prom?.exitCode !== null) throw new GiveUp(`prometheus exited with ${prom?.exitCode}: ${promLog}`);
      return (await fetch(`${promUrl}/-/ready`)).ok ? true : undefined;
    });
  });

  afterAll(async () => {
    if (prom && prom.exitCode === null) {
      const exited = new Promise((r) => prom!.once('exit', r));
      prom.kill('SIGTERM');
      await exited;
    }
    await http?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const query = async (q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    if (body.status !== 'success') throw new Error(`${q}: ${body.error}`);
    return body.data.result;
  };
  const alerts = async (): Promise<{ labels: Record<string, string>; state: string }[]> => {
    const body = (await (await fetch(`${promUrl}/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string>; state: string }[] } };
    return body.data.alerts;
  };

  it('scrapes the daemon and sees VpsSyncDrift go pending when drift appears', async () => {
    await waitFor('a successful scrape', async () => ((await query('up{job="ospab-vps-sync"} == 1')).length > 0 ? true : undefined));
    const drift0 = await query('sum(vpssync_drift)');
    expect(drift0[0]?.value[1]).toBe('0');
    expect((await alerts()).filter((a) => a.labels.alertname === 'VpsSyncDrift')).toEqual([]);

    const counts = Object.fromEntries(DRIFT_CLASSES.map((c) => [c, c === 'missing_on_panel' ? 2 : 0])) as Record<DriftClass, number>;
    metrics.drift(counts);
    const pending = await waitFor('VpsSyncDrift pending', async () =>
      (await alerts()).find((a) => a.labels.alertname === 'VpsSyncDrift' && a.state === 'pending'));
    expect(pending.labels).toMatchObject({ job: 'ospab-vps-sync', severity: 'warning' });
  });

  it('evaluates every dashboard query without a PromQL error', async () => {
    const dash = JSON.parse(readFileSync(join(root, 'config/grafana/dashboards/ospab-vps-sync.json'), 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
    const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    for (const e of exprs) {
      const q = e.replaceAll('$__rate_interval', '1m').replaceAll('$job', 'ospab-vps-sync').replaceAll('$instance', '.*');
      await expect(query(q), e).resolves.toBeDefined();
    }
  });

  it('keeps Prometheus quiet about our rules', () => {
    expect(promLog).not.toMatch(/error loading rules|rule evaluation failed/i);
  });
});
if (!prometheusBin) describe.skip(missingToolMessage('prometheus', 'prometheus'), () => { it('skipped', () => {}); });
