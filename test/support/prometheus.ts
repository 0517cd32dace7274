// A real Prometheus server (Debian's `prometheus` package) on loopback, scraping given targets
// every second with the shipped alert rules.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closedPort } from './ports.js';
import { GiveUp, waitFor } from './wait.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PromAlert {
  labels: Record<string, string>;
  state: string;
}

/** A running Prometheus; `stop()` kills it and removes its data. */
export interface RunningPrometheus {
  readonly url: string;
  query(q: string): Promise<PromSample[]>;
  alerts(): Promise<PromAlert[]>;
  log(): string;
  stop(): Promise<void>;
}

/** Starts Prometheus with `config/prometheus/alerts.yml`, scraping `targets` (host:port) as job ospab-vps-sync. */
export async function startPrometheus(bin: string, targets: readonly string[]): Promise<RunningPrometheus> {
  const tmp = mkdtempSync(join(tmpdir(), 'vpssync-prom-'));
  copyFileSync(join(root, 'config/prometheus/alerts.yml'), join(tmp, 'alerts.yml'));
  writeFileSync(
    join(tmp, 'prometheus.yml'),
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'rule_files: [alerts.yml]',
      'scrape_configs:',
      '  - job_name: ospab-vps-sync',
      `    static_configs: [{ targets: [${targets.map((t) => `'${t}'`).join(', ')}] }]`,
      '',
    ].join('\n'),
  );
  // Prometheus cannot report a port it picked for :0, so pick one first.
  const port = await closedPort();
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  const prom: ChildProcess = spawn(
    bin,
    [`--config.file=${join(tmp, 'prometheus.yml')}`, `--storage.tsdb.path=${join(tmp, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  prom.stderr?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const stop = async (): Promise<void> => {
    if (prom.exitCode === null) {
      const exited = new Promise((r) => prom.once('exit', r));
      prom.kill('SIGTERM');
      await exited;
    }
    rmSync(tmp, { recursive: true, force: true });
  };
  try {
    await waitFor('Prometheus to be ready', async () => {
      // Fail fast (with its own words) when Prometheus exits, e.g. on a port taken meanwhile.
      if (prom.exitCode !== null) throw new GiveUp(`prometheus exited with ${prom.exitCode}: ${log}`);
      return (await fetch(`${url}/-/ready`)).ok ? true : undefined;
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    async query(q) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = (await res.json()) as { status: string; error?: string; data: { result: PromSample[] } };
      if (body.status !== 'success') throw new Error(`${q}: ${body.error}`);
      return body.data.result;
    },
    async alerts() {
      const body = (await (await fetch(`${url}/api/v1/alerts`)).json()) as { data: { alerts: PromAlert[] } };
      return body.data.alerts;
    },
    log: () => log,
    stop,
  };
}
