import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { headingAnchors } from './markdown.js';
import { exposedMetricNames, referencedMetrics } from './metric-names.js';
import { findTool, missingToolMessage } from './tools.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const alertsFile = join(root, 'config/prometheus/alerts.yml');
const testsFile = join(root, 'config/prometheus/alerts.test.yml');
const read = (p: string): string => readFileSync(p, 'utf8');

interface Rule { alert: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
const rules = (parse(read(alertsFile)) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

const REQUIRED = [
  'VpsSyncStale', 'VpsSyncDrift', 'VpsSyncSourceDown', 'VpsSyncBillingDown', 'VpsSyncUnbilledVms',
  'VpsSyncBilledButMissing', 'VpsSyncAmbiguousActions', 'VpsSyncPanelErrors', 'VpsSyncHeldDeletes', 'VpsSyncGuestsUnreported',
  'VpsSyncSourceOnFallback', 'VpsSyncAmbiguousBilling', 'VpsSyncSuspendedButRunning', 'VpsSyncRejectedInput',
];

/** Every report-only drift class has an alert of its own (docs/operations.md says so at VpsSyncDrift). */
const REPORT_ONLY_CLASSES = ['unbilled', 'billed_but_missing', 'suspended_but_running', 'ambiguous_billing', 'held_delete', 'ambiguous'];

describe('alert rules (static checks)', () => {
  it('define every required alert once, each with severity, summary, description and runbook', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual([...REQUIRED].sort());
    for (const r of rules) {
      // info: revenue matters that need a person some day, not the sync (VpsSyncSuspendedButRunning).
      expect(['critical', 'warning', 'info'], r.alert).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      expect(r.annotations?.description, r.alert).toBeTruthy();
      expect(r.annotations?.runbook, r.alert).toBe(`docs/operations.md#${r.alert.toLowerCase()}`);
    }
  });

  it.each(REPORT_ONLY_CLASSES)('the report-only drift class %s has an alert', (cls) => {
    expect(rules.filter((r) => r.expr.includes(`class="${cls}"`)).map((r) => r.alert)).toHaveLength(1);
  });

  it('link runbooks to sections that exist in docs/operations.md', () => {
    const have = headingAnchors(read(join(root, 'docs/operations.md')));
    for (const r of rules) expect(have.has(r.annotations!.runbook!.split('#')[1]!), r.alert).toBe(true);
  });

  it('only use metrics the metrics module defines', async () => {
    const known = await exposedMetricNames();
    for (const r of rules) {
      const used = referencedMetrics(r.expr);
      expect(used.length, r.alert).toBeGreaterThan(0);
      for (const name of used) expect(known.has(name), `${r.alert}: ${name}`).toBe(true);
    }
  });

  it('have a unit test for each alert both firing and not firing', () => {
    const doc = parse(read(testsFile)) as { tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[] };
    const cases = doc.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const name of REQUIRED) {
      expect(cases.some((c) => c.alertname === name && c.exp_alerts.length > 0), `${name} firing`).toBe(true);
      expect(cases.some((c) => c.alertname === name && c.exp_alerts.length === 0), `${name} not firing`).toBe(true);
    }
  });
});

const promtool = findTool('promtool');
describe.skipIf(!promtool)('alert rules (promtool)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'vpssync-promtool-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const run = (...args: string[]) => spawnSync(promtool!, args, { encoding: 'utf8' });

  it('passes `promtool check rules`', () => {
    const r = run('check', 'rules', alertsFile);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('passes `promtool test rules` (alerts.test.yml)', () => {
    const r = run('test', 'rules', testsFile);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });

  it('ships an example Prometheus config that `promtool check config` accepts', () => {
    // The example loads the rules by the file name the docs tell operators to install.
    copyFileSync(join(root, 'config/prometheus/prometheus.example.yml'), join(tmp, 'prometheus.yml'));
    copyFileSync(alertsFile, join(tmp, 'ospab-vps-sync-alerts.yml'));
    const r = run('check', 'config', join(tmp, 'prometheus.yml'));
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});
if (!promtool) describe.skip(missingToolMessage('promtool', 'prometheus'), () => { it('skipped', () => {}); });
