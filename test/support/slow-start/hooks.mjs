// Module hooks (they run on a thread of their own): the load of dist/cli/main.js waits
// SLOW_START_HOLD_MS (default 1500), after printing SLOW_START_MARKER to stderr so the test knows
// the executable's own first lines have run.
export const SLOW_START_MARKER = 'slow-start: holding dist/cli/main.js';

export async function load(url, context, nextLoad) {
  if (url.endsWith('/dist/cli/main.js')) {
    process.stderr.write(`${SLOW_START_MARKER}\n`);
    await new Promise((resolve) => setTimeout(resolve, Number(process.env.SLOW_START_HOLD_MS ?? 1500)));
  }
  return nextLoad(url, context);
}
