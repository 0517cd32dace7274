// Polling until something becomes true, for tests that watch other processes.

/** Thrown by a probe to stop waiting at once (e.g. the watched process died). */
export class GiveUp extends Error {}

/** Polls `probe` every 250 ms until it returns a value; throws after `timeoutMs` with the last error. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
