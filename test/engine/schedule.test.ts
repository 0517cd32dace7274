// The schedule under a wall clock set back. croner waits for the run after the one it last fired,
// by the wall clock: set back an hour, it fired nothing for that hour — no pass, while /readyz
// (its last success now "in the future") kept answering ready.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startSchedule, type Schedule } from '../../src/engine/schedule.js';

const MINUTE = 60_000;

describe('the pass schedule', () => {
  let schedule: Schedule | undefined;
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.UTC(2026, 10, 27, 12, 0, 0), toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
  });
  afterEach(() => {
    schedule?.stop();
    vi.useRealTimers();
  });

  it('keeps firing after the wall clock is set back, not as much later as it jumped', async () => {
    const ticks: number[] = [];
    schedule = startSchedule('*/1 * * * *', 'schedule-test', () => ticks.push(Date.now()));
    await vi.advanceTimersByTimeAsync(3 * MINUTE);
    expect(ticks).toHaveLength(3);
    vi.setSystemTime(Date.now() - 60 * MINUTE);
    ticks.length = 0;
    await vi.advanceTimersByTimeAsync(5 * MINUTE);
    expect(ticks.length).toBeGreaterThanOrEqual(4);
  });

  it('a clock set forward fires at once, then on the schedule', async () => {
    const ticks: number[] = [];
    schedule = startSchedule('*/1 * * * *', 'schedule-test', () => ticks.push(Date.now()));
    await vi.advanceTimersByTimeAsync(MINUTE);
    vi.setSystemTime(Date.now() + 60 * MINUTE);
    ticks.length = 0;
    await vi.advanceTimersByTimeAsync(3 * MINUTE);
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    expect(ticks.length).toBeLessThanOrEqual(4);
  });

  it('stop() ends it', async () => {
    const ticks: number[] = [];
    schedule = startSchedule('*/1 * * * *', 'schedule-test', () => ticks.push(Date.now()));
    schedule.stop();
    await vi.advanceTimersByTimeAsync(3 * MINUTE);
    expect(ticks).toHaveLength(0);
  });
});
