// A `fetch` for the proxmox-api client that goes through our TLS dispatcher, obeys our deadline
// and the caller's signal for headers AND body, and remembers what happened on the wire so a
// failure can be explained precisely (the library's own errors are vague).
import type { Dispatcher, fetch as undiciFetch, RequestInit } from 'undici';
import { Response } from 'undici';

export type FetchFn = typeof undiciFetch;

/** Statuses whose Response must have no body. */
const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

/** One listing's view of the wire: a fetch for proxmox-api plus what it saw. */
export class CapturedCall {
  /** Requests attempted (the library retries once on network errors). */
  attempts = 0;
  /** The last error thrown before any answer arrived (refused, TLS, reset…). */
  networkError: unknown;
  /** The error that cut the body short, and how far it got. */
  bodyError: unknown;
  bytesReceived = 0;
  status: number | undefined;
  statusText = '';
  contentType: string | null = null;
  contentLength: number | undefined;
  /** The complete body of the last answer (kept to explain an unparseable one). */
  body: Buffer | undefined;

  /**
   * @param basePath path prefix of the configured URL (behind a reverse proxy), '' normally
   */
  constructor(
    private readonly baseFetch: FetchFn,
    private readonly dispatcher: Dispatcher,
    private readonly signal: AbortSignal,
    private readonly basePath: string,
  ) {}

  /** The function handed to proxmox-api as its `fetch`. */
  readonly fetch = async (input: string | URL, init?: RequestInit): Promise<Response> => {
    this.attempts++;
    this.signal.throwIfAborted();
    const url = new URL(String(input));
    if (this.basePath) url.pathname = this.basePath + url.pathname;
    const signal = init?.signal ? AbortSignal.any([this.signal, init.signal as AbortSignal]) : this.signal;
    this.reset();
    let res: Response;
    try {
      res = await this.baseFetch(url, { ...init, signal, dispatcher: this.dispatcher });
    } catch (err) {
      this.networkError = err;
      throw err;
    }
    this.status = res.status;
    this.statusText = res.statusText;
    this.contentType = res.headers.get('content-type');
    const length = Number(res.headers.get('content-length'));
    this.contentLength = Number.isFinite(length) && res.headers.has('content-length') ? length : undefined;
    try {
      this.body = await this.readBody(res);
    } catch (err) {
      this.bodyError = err;
      throw err;
    }
    const body = NULL_BODY_STATUS.has(res.status) ? null : this.body;
    return new BufferedResponse(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };

  private reset(): void {
    this.networkError = undefined;
    this.bodyError = undefined;
    this.bytesReceived = 0;
    this.status = undefined;
    this.statusText = '';
    this.contentType = null;
    this.contentLength = undefined;
    this.body = undefined;
  }

  private async readBody(res: Response): Promise<Buffer> {
    if (!res.body) return Buffer.alloc(0);
    // With a believable Content-Length the body goes straight into one buffer of that size, so a
    // 30 MB listing is held once, not as chunks plus their concatenation.
    const declared = this.contentLength;
    let into = declared !== undefined && declared <= MAX_PREALLOCATED ? Buffer.allocUnsafe(declared) : null;
    let filled = 0;
    const chunks: Uint8Array[] = [];
    for await (const chunk of res.body) {
      this.bytesReceived += chunk.byteLength;
      if (into && filled + chunk.byteLength <= into.length) {
        into.set(chunk, filled);
        filled += chunk.byteLength;
        continue;
      }
      if (into) {
        // More than announced: keep everything, in order, the slow way.
        chunks.push(into.subarray(0, filled));
        into = null;
      }
      chunks.push(chunk);
    }
    if (into) return filled === into.length ? into : into.subarray(0, filled);
    return Buffer.concat(chunks);
  }
}

/** Bodies up to this size are read into one buffer sized by Content-Length. */
const MAX_PREALLOCATED = 512 * 1024 * 1024;

/**
 * The Response handed to proxmox-api: the body is already in memory, so text()/json() decode that
 * buffer directly. A plain `new Response(buffer)` copies it into a web stream and back (two more
 * copies of a 30 MB listing at 100,000 guests, and the time to make them).
 */
class BufferedResponse extends Response {
  constructor(
    private readonly captured: Buffer | null,
    init: { status: number; statusText: string; headers: Response['headers'] },
  ) {
    super(null, init);
  }

  // UTF-8 decoding as fetch does it: a leading byte-order mark is dropped.
  override readonly text = async (): Promise<string> => {
    const text = this.captured ? this.captured.toString('utf8') : '';
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  };

  override readonly json = async (): Promise<unknown> => JSON.parse(await this.text()) as unknown;
}
