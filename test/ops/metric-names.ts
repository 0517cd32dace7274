// Every series name the metrics module can expose, so dashboards and alert rules can be checked
// against the code rather than against a hand-kept list.
import { createSyncMetrics } from '../../src/metrics/index.js';

/** Names as they appear in PromQL: histograms add _bucket, _sum and _count. */
export async function exposedMetricNames(): Promise<Set<string>> {
  const metrics = createSyncMetrics({ version: 'test', sources: ['pve1'] });
  const names = new Set<string>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${m.name}${s}`);
  }
  return names;
}

/** Metric names referenced by a PromQL expression (ours, and the process/nodejs ones). */
export function referencedMetrics(expr: string): string[] {
  const found = expr.match(/\b(?:vpssync|process|nodejs)_[a-zA-Z0-9_]+/g) ?? [];
  return [...new Set(found)];
}
