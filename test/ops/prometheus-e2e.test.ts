// A real Prometheus (Debian's `prometheus` package) scrapes the daemon's HTTP server on loopback
// with the shipped alert rules; drift reported through the observer makes VpsSyncDrift go pending.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRIFT_CLASSES, type DriftClass } from '../../src/domain/types.js';
import { createHttpServer, type HttpServer } from '../../src/http/index.js';
import { createSyncMetrics, type SyncMetrics } from '../../src/metrics/index.js';
import { createLogger } from '../../src/util/logger.js';
import { FakeControl } from '../http/fake-control.js';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus.js';
import { waitFor } from '../support/wait.js';
import { findTool, missingToolMessage } from './tools.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const prometheusBin = findTool('prometheus');

describe.skipIf(!prometheusBin)('Prometheus end to end', () => {
  let prom: RunningPrometheus;
  let http: HttpServer;
  let metrics: SyncMetrics;

  beforeAll(async () => {
    metrics = createSyncMetrics({ version: '0.1.0', sources: ['pve1'] });
    const control = new FakeControl();
    http = createHttpServer({ listen: '127.0.0.1:0', control, metrics, logger: createLogger({ level: 'silent', pretty: false }) });
    const { url } = await http.start();
    prom = await startPrometheus(prometheusBin!, [new URL(url).host]);
  });

  afterAll(async () => {
    await prom?.stop();
    await http?.stop();
  });

  const query = (q: string) => prom.query(q);
  const alerts = () => prom.alerts();

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
    expect(prom.log()).not.toMatch(/error loading rules|rule evaluation failed/i);
  });
});
if (!prometheusBin) describe.skip(missingToolMessage('prometheus', 'prometheus'), () => { it('skipped', () => {}); });
