// A schedule whose passes are further apart than the daemon's readiness window (or the shipped
// VpsSyncStale alert's 15 minutes) is valid, but then /readyz answers 503 and the alert pages
// between two perfectly healthy passes. Said once, when the config is checked and when the daemon
// starts, rather than left for an operator to find from a page.
import { Cron } from 'croner';
import type { Config } from './schema.js';

/** How far ahead the gaps are looked at: a week and a day, so weekday-only schedules show their weekend. */
const HORIZON_MS = 8 * 24 * 3600 * 1000;
/** Enough runs to cover the horizon of any schedule but an every-second one. */
const MAX_RUNS = 20_000;
/** VpsSyncStale in config/prometheus/alerts.yml: no successful pass for this long. */
export const STALE_ALERT_SECONDS = 900;

/** The longest wait, in seconds, between two passes the schedule starts over the next 8 days (null: fewer than two runs in that time). */
export function longestScheduleGapSeconds(pattern: string, from: Date = new Date()): number | null {
  const cron = new Cron(pattern, { paused: true });
  try {
    const end = from.getTime() + HORIZON_MS;
    let previous = cron.nextRun(from);
    let longest: number | null = null;
    for (let i = 0; previous !== null && previous.getTime() <= end && i < MAX_RUNS; i++) {
      const next = cron.nextRun(previous);
      if (next === null || next.getTime() > end) break;
      const gap = (next.getTime() - previous.getTime()) / 1000;
      if (longest === null || gap > longest) longest = gap;
      previous = next;
    }
    return longest;
  } finally {
    cron.stop();
  }
}

/** What the schedule does to readiness and alerting, one warning per problem (none for the default). */
export function scheduleWarnings(config: Pick<Config, 'schedule' | 'http'>, from: Date = new Date()): string[] {
  if (!config.http.listen) return []; // no /readyz, no /metrics: nothing to mislead
  const gap = longestScheduleGapSeconds(config.schedule, from);
  if (gap === null) return [`schedule "${config.schedule}" starts fewer than two passes in the next 8 days: /readyz answers 503 and VpsSyncStale fires in between`];
  const warnings: string[] = [];
  const readyMax = config.http.readyMaxAgeSeconds;
  const between = `schedule "${config.schedule}" leaves up to ${duration(gap)} between passes`;
  if (gap >= readyMax) warnings.push(`${between}, longer than http.readyMaxAgeSeconds (${readyMax} s): /readyz answers 503 between passes — raise it above ${Math.ceil(gap)} s`);
  if (gap >= STALE_ALERT_SECONDS) warnings.push(`${between}, longer than the 15 minutes after which the VpsSyncStale alert fires: raise its ${STALE_ALERT_SECONDS} s in alerts.yml, or schedule passes more often`);
  return warnings;
}

function duration(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 360) / 10} h`;
}
