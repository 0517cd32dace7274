// A schedule slower than the readiness window or the stale alert: valid, but said out loud.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { STALE_ALERT_SECONDS, longestScheduleGapSeconds, scheduleWarnings } from '../../src/config/schedule-gap.js';

// A Wednesday, 10:00 in the machine's time zone (croner, like the daemon, schedules in local time).
const FROM = new Date(2026, 10, 25, 10, 0, 0);

describe('the longest gap between scheduled passes', () => {
  it.each<[string, number | null]>([
    ['*/1 * * * *', 60],
    ['*/10 * * * *', 600],
    ['0 3 * * *', 86_400],
    ['*/5 9-17 * * *', 15 * 3600 + 5 * 60], // 17:55 → 9:00 the next day
    ['*/5 9-17 * * 1-5', 63 * 3600 + 5 * 60], // Friday 17:55 → Monday 9:00
    ['*/30 * * * * *', 30], // with seconds
    ['0 0 1 1 *', null], // yearly: fewer than two runs in the next 8 days
  ])('%s → %s s', (pattern, gap) => {
    expect(longestScheduleGapSeconds(pattern, FROM)).toBe(gap);
  });
});

describe('schedule warnings', () => {
  const http = { listen: '127.0.0.1:9477', readyMaxAgeSeconds: 600 } as const;
  it.each<[string, number, RegExp[]]>([
    ['*/1 * * * *', 600, []],
    ['*/5 * * * *', 600, []],
    ['*/10 * * * *', 600, [/^schedule "\*\/10 \* \* \* \*" leaves up to 10 min between passes, longer than http\.readyMaxAgeSeconds \(600 s\): \/readyz answers 503 between passes — raise it above 600 s$/]],
    ['*/10 * * * *', 900, []],
    [
      '0 * * * *',
      600,
      [/longer than http\.readyMaxAgeSeconds \(600 s\)/, /^schedule "0 \* \* \* \*" leaves up to 60 min between passes, longer than the 15 minutes after which the VpsSyncStale alert fires/],
    ],
    ['0 * * * *', 7200, [/VpsSyncStale/]],
    ['0 0 1 1 *', 600, [/starts fewer than two passes in the next 8 days/]],
  ])('%s with readyMaxAgeSeconds %s', (schedule, readyMaxAgeSeconds, expected) => {
    const warnings = scheduleWarnings({ schedule, http: { ...http, readyMaxAgeSeconds } }, FROM);
    expect(warnings).toHaveLength(expected.length);
    expected.forEach((re, i) => expect(warnings[i]).toMatch(re));
  });

  it('none without http.listen: no /readyz answers and no metrics are scraped', () => {
    expect(scheduleWarnings({ schedule: '0 * * * *', http: { ...http, listen: '' } }, FROM)).toEqual([]);
  });
});

describe('the stale threshold the warning names', () => {
  it('is the one VpsSyncStale uses in config/prometheus/alerts.yml', () => {
    const rules = readFileSync(new URL('../../config/prometheus/alerts.yml', import.meta.url), 'utf8');
    const stale = rules.slice(rules.indexOf('alert: VpsSyncStale'), rules.indexOf('- alert:', rules.indexOf('alert: VpsSyncStale') + 1));
    expect(stale).toContain(`time() - vpssync_last_success_timestamp_seconds > ${STALE_ALERT_SECONDS}`);
  });
});
