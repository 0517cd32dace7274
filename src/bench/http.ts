// A small JSON-over-HTTP(S) helper for the simulators' control APIs (`/_sim/...`), which the
// benchmark drives from its own process. Trusts the simulator's self-signed CA when given one.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';

/** A keep-alive connection pool to one simulator. */
export class ControlClient {
  private readonly agent: Agent;

  constructor(
    private readonly baseUrl: string,
    caFile?: string | null,
  ) {
    this.agent = new Agent({ connect: caFile ? { ca: readFileSync(caFile, 'utf8') } : {}, connections: 4 });
  }

  /** Sends one request with an optional JSON body; throws unless the answer is 2xx; returns the parsed JSON. */
  async json<T = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const res = await request(`${this.baseUrl}${path}`, {
      method: method as 'GET',
      dispatcher: this.agent,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`${method} ${this.baseUrl}${path}: ${res.statusCode} ${text.slice(0, 300)}`);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  /** Runs `fn` over `items` with at most `concurrency` requests in flight. */
  async each<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<unknown>): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length) await fn(items[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  }

  /** Closes the pool. */
  async close(): Promise<void> {
    await this.agent.close();
  }
}
