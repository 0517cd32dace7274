import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { exposedMetricNames, referencedMetrics } from './metric-names.js';

const root = new URL('../../', import.meta.url);
const read = (p: string): string => readFileSync(new URL(p, root), 'utf8');

interface Target { expr: string; datasource?: { uid?: string } }
interface Panel { id: number; type: string; title: string; datasource?: { type?: string; uid?: string }; targets?: Target[]; gridPos: { x: number; y: number; w: number; h: number } }
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown; datasource?: { uid?: string } }[] };
}

const dashboard = JSON.parse(read('config/grafana/dashboards/ospab-vps-sync.json')) as Dashboard;
const panels = dashboard.panels.filter((p) => p.type !== 'row');

describe('Grafana dashboard', () => {
  it('has a stable uid and a prometheus datasource variable', () => {
    expect(dashboard.uid).toBe('ospab-vps-sync');
    const ds = dashboard.templating.list.find((v) => v.name === 'datasource');
    expect(ds).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) expect(v.datasource?.uid).toBe('${datasource}');
  });

  it('points every panel and every query at ${datasource}', () => {
    expect(panels.length).toBeGreaterThan(8);
    for (const p of panels) {
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.datasource?.uid, p.title).toBe('${datasource}');
    }
  });

  it('has unique panel ids and panels inside the 24-column grid', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
  });

  it('covers the required views', () => {
    const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)).join('\n');
    for (const metric of [
      'vpssync_last_success_timestamp_seconds', 'vpssync_passes_total', 'vpssync_pass_duration_seconds_bucket', 'vpssync_drift',
      'vpssync_source_up', 'vpssync_source_vms', 'vpssync_actions_total', 'vpssync_panel_request_duration_seconds_bucket', 'vpssync_outbox_pending',
    ]) expect(exprs).toContain(metric);
  });

  it('only queries metrics the metrics module defines', async () => {
    const known = await exposedMetricNames();
    for (const p of panels) {
      for (const t of p.targets ?? []) {
        for (const name of referencedMetrics(t.expr)) expect(known.has(name), `${p.title}: ${name}`).toBe(true);
      }
    }
  });

  it('ships a provisioning file and an example datasource', () => {
    const prov = parse(read('config/grafana/provisioning/dashboards.yml')) as { apiVersion: number; providers: { type: string; options: { path: string } }[] };
    expect(prov.apiVersion).toBe(1);
    expect(prov.providers[0]).toMatchObject({ type: 'file' });
    const ds = parse(read('config/grafana/provisioning/datasources.example.yml')) as { datasources: { type: string }[] };
    expect(ds.datasources[0]?.type).toBe('prometheus');
  });
});
