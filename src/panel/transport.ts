// The panel client's HTTP transport: one POST per call over an undici connection pool, with a
// whole-request deadline and an optional AbortSignal. It reports either the answer (status,
// body as text) or a transport failure that says whether the request may have reached the panel:
// "started" is undici's onRequestStart, called just before the request is written on an
// established (TCP + TLS) connection; anything failing earlier never left this process.
// undici rather than axios: axios costs ~190 µs of CPU per request here (mergeConfig, header
// normalisation, its http adapter), undici ~40 µs, and the initial sync of a hosting company is
// 100,000 requests (see src/bench/client-bench.ts).
import { Pool, type Dispatcher } from 'undici';
import type { HttpAnswer, TransportFailure } from './classify.js';

export interface TransportOptions {
  /** The panel's base URL; `/api/vps/sync` is appended to its path. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Whole-request deadline (connect to last byte). */
  readonly timeoutMs: number;
  /** Connections kept to the panel: at least the engine's concurrency, or calls queue. */
  readonly connections: number;
  /** Idle keep-alive connections are closed after this, before a server's own idle timeout can race a new request. */
  readonly idleSocketMs: number;
  /** Bodies above this are cut (real answers are a few hundred bytes). */
  readonly maxAnswerBytes: number;
  /** Extra CA (PEM) for a panel behind a private CA. */
  readonly ca?: string;
}

export type Outcome = { readonly answer: HttpAnswer } | { readonly failure: TransportFailure };

/** Sends POSTs to the sync endpoint; `close()` drops the pooled connections. */
export class PanelTransport {
  private readonly pool: Pool | null;
  private readonly path: string;
  private readonly invalid: string | null = null;

  constructor(private readonly options: TransportOptions) {
    let url: URL | null = null;
    try {
      url = new URL(options.url);
    } catch {
      this.invalid = `invalid panel URL`;
    }
    this.path = url ? `${url.pathname.replace(/\/+$/, '')}/api/vps/sync` : '';
    this.pool = url
      ? new Pool(url.origin, {
          connections: options.connections,
          pipelining: 1,
          keepAliveTimeout: options.idleSocketMs,
          keepAliveMaxTimeout: options.idleSocketMs,
          // Our deadline covers the whole call; these only must not fire first.
          headersTimeout: 0,
          bodyTimeout: 0,
          connect: options.ca ? { ca: options.ca } : {},
        })
      : null;
  }

  /** POSTs `body` (JSON text); never throws. */
  post(body: string, signal: AbortSignal | undefined): Promise<Outcome> {
    if (!this.pool) return Promise.resolve({ failure: { code: 'ERR_INVALID_URL', message: this.invalid ?? 'invalid URL', connected: false } });
    return new Promise((resolve) => {
      const call = new Call(this.options, resolve, signal);
      try {
        this.pool!.dispatch({ path: this.path, method: 'POST', headers: this.options.headers, body }, call);
      } catch (err) {
        call.onResponseError(null, err as Error);
      }
    });
  }

  /** Destroys the pooled connections. */
  close(): void {
    void this.pool?.destroy().catch(() => undefined);
  }
}

type Controller = Dispatcher.DispatchController;

/** One request's undici handler: collects the answer, enforces the deadline and the signal. */
class Call implements Dispatcher.DispatchHandler {
  private controller: Controller | null = null;
  /** The request is (being) written: from here on it may reach the panel. */
  private started = false;
  private settled = false;
  /** Why this call was given up before it started; applied the moment undici hands it a connection. */
  private cancelled: TransportFailure | null = null;
  private status = 0;
  private statusText = '';
  private location: string | undefined;
  private chunks: Buffer[] = [];
  private bytes = 0;
  /** Some of the body was not kept (over `maxAnswerBytes`). */
  private dropped = false;
  private readonly timer: NodeJS.Timeout;
  private readonly onAbort: (() => void) | null = null;

  constructor(
    private readonly options: TransportOptions,
    private readonly resolve: (o: Outcome) => void,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.timer = setTimeout(() => this.giveUp({ code: 'ECONNABORTED', message: `timeout of ${options.timeoutMs}ms exceeded` }), options.timeoutMs);
    if (signal) {
      this.onAbort = () => this.giveUp({ code: 'ERR_CANCELED', message: 'canceled' });
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  /** Deadline or abort: stop the call now; it counts as sent only if it had started. */
  private giveUp(why: { code: string; message: string }): void {
    if (this.settled) return;
    if (this.started && this.controller) {
      this.controller.abort(Object.assign(new Error(why.message), { code: why.code }));
      return;
    }
    // Still queued or connecting: answer now, and make sure it is never written later.
    this.cancelled = { ...why, connected: false };
    this.finish({ failure: this.cancelled });
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    if (this.cancelled) {
      controller.abort(Object.assign(new Error(this.cancelled.message), { code: this.cancelled.code }));
      return;
    }
    this.started = true;
  }

  onResponseStart(_controller: Controller, statusCode: number, headers: Record<string, string | string[] | undefined>, statusMessage?: string): void {
    this.status = statusCode;
    this.statusText = statusMessage ?? '';
    const location = headers['location'];
    this.location = Array.isArray(location) ? location[0] : location;
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    if (this.bytes >= this.options.maxAnswerBytes) {
      this.dropped = true;
      return;
    }
    this.chunks.push(chunk);
    this.bytes += chunk.length;
  }

  onResponseEnd(): void {
    const whole = this.chunks.length === 1 ? this.chunks[0]!.toString('utf8') : Buffer.concat(this.chunks).toString('utf8');
    const max = this.options.maxAnswerBytes;
    const body = whole.length > max ? whole.slice(0, max) : whole;
    // Reported so that the client can redact a secret the cut split in two (see scrub()).
    const truncated = this.dropped || body.length < whole.length;
    this.finish({
      answer: { status: this.status, statusText: this.statusText, body, location: this.location, ...(truncated ? { truncated } : {}) },
    });
  }

  onResponseError(_controller: Controller | null, err: Error): void {
    const e = err as Error & { code?: unknown; cause?: { code?: unknown } };
    // undici wraps socket errors; the system code (ECONNREFUSED, ENOTFOUND, cert errors) is on the cause.
    const code = typeof e.cause?.code === 'string' ? e.cause.code : typeof e.code === 'string' ? e.code : undefined;
    const message = e.cause instanceof Error && e.cause.message ? e.cause.message : e.message;
    this.finish({ failure: { code, message, connected: this.started } });
  }

  private finish(outcome: Outcome): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    if (this.onAbort) this.signal!.removeEventListener('abort', this.onAbort);
    this.resolve(outcome);
  }
}
