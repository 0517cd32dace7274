// The daemon's pass schedule (croner), made to survive a wall clock set back. croner waits for the
// run after the one it fired last, by the wall clock: set back an hour, it fires nothing for that
// hour — no pass at all, while /readyz (the last success now "in the future") answers ready. So a
// last run later than now, which only a clock set back can make, starts the schedule afresh.
import { Cron } from 'croner';

export interface Schedule {
  /** When the next pass is due, or null. */
  nextRun(): Date | null;
  stop(): void;
}

/** `checkEveryMs`: how often to look for a clock set back (croner itself wakes every 30 s). */
export function startSchedule(pattern: string, name: string, onTick: () => void, checkEveryMs = 30_000): Schedule {
  let cron = new Cron(pattern, { name }, onTick);
  const watch = setInterval(() => {
    const last = cron.currentRun();
    if (last === null || last.getTime() <= Date.now()) return;
    cron.stop();
    cron = new Cron(pattern, { name }, onTick);
  }, checkEveryMs);
  // Never what keeps the process alive.
  watch.unref();
  return {
    nextRun: () => cron.nextRun(),
    stop: () => {
      clearInterval(watch);
      cron.stop();
    },
  };
}
