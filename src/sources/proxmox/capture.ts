// A `fetch` for the proxmox-api client that goes through our TLS dispatcher, obeys our deadline
// and the caller's signal for headers AND body, and remembers what happened on the wire so a
// failure can be explained precisely (the library's own errors are vague). A body the caller
// wants read incrementally (the guest list) is handed to its reader as it arrives, still inside
// this fetch, so the library's retry, our deadline and our error explanations cover it unchanged.
import type { Dispatcher, fetch as undiciFetch, RequestInit } from 'undici';
import { Response } from 'undici';
import type { BodyOutcome } from './stream.js';

export type FetchFn = typeof undiciFetch;

/** An incremental reader of one body: `push` each chunk, then `end` once. */
export interface BodyReader {
  push(chunk: Uint8Array): void;
  end(): BodyOutcome;
}

/** What is known when the headers arrive; the caller decides whether to read the body incrementally. */
export interface AnswerHead {
  readonly status: number;
  readonly contentType: string | null;
  /** The announced Content-Length when it is believable (a whole body may be given one buffer of this size). */
  readonly contentLength: number | undefined;
}

/** What `json()` of an incrementally read body yields in `data`: "the reader has every element". */
export const STREAMED_DATA: unique symbol = Symbol('proxmox listing read incrementally');

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
  /** An error thrown by the body reader itself (not by the wire). */
  readerError: unknown;
  bytesReceived = 0;
  status: number | undefined;
  statusText = '';
  contentType: string | null = null;
  contentLength: number | undefined;
  /** The complete body of the last answer when it was kept whole (to explain an unparseable one). */
  body: Buffer | undefined;
  /** What the incremental reader made of the last answer, when one read it. */
  outcome: BodyOutcome | undefined;

  /**
   * @param basePath path prefix of the configured URL (behind a reverse proxy), '' normally
   * @param readerFor a reader for the body of this answer, or undefined to keep the body whole
   */
  constructor(
    private readonly baseFetch: FetchFn,
    private readonly dispatcher: Dispatcher,
    private readonly signal: AbortSignal,
    private readonly basePath: string,
    private readonly readerFor: (head: AnswerHead) => BodyReader | undefined = () => undefined,
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
    const declared = this.contentLength !== undefined && this.contentLength <= MAX_PREALLOCATED ? this.contentLength : undefined;
    const reader = NULL_BODY_STATUS.has(res.status) ? undefined : this.readerFor({ status: res.status, contentType: this.contentType, contentLength: declared });
    const init2 = { status: res.status, statusText: res.statusText, headers: res.headers };
    if (reader) {
      this.outcome = await this.readInto(res, reader);
      if (this.outcome.kind === 'whole') this.body = this.outcome.body;
      return new BufferedResponse(this.outcome, init2);
    }
    try {
      this.body = await this.readBody(res, declared);
    } catch (err) {
      this.bodyError = err;
      throw err;
    }
    const body = NULL_BODY_STATUS.has(res.status) ? null : this.body;
    return new BufferedResponse({ kind: 'whole', body }, init2);
  };

  /** What `JSON.parse` of the whole body says when it is not JSON (and its size), else undefined. */
  notJson(): { message: string; bytes: number } | undefined {
    if (this.outcome?.kind === 'invalid') return { message: this.outcome.error.message, bytes: this.bytesReceived };
    if (this.outcome && this.outcome.kind !== 'whole') return undefined;
    // As before: the text as decoded, a byte-order mark included.
    try {
      JSON.parse(this.body?.toString('utf8') ?? '');
      return undefined;
    } catch (err) {
      return { message: (err as Error).message, bytes: this.body?.length ?? 0 };
    }
  }

  private reset(): void {
    this.networkError = undefined;
    this.bodyError = undefined;
    this.readerError = undefined;
    this.bytesReceived = 0;
    this.status = undefined;
    this.statusText = '';
    this.contentType = null;
    this.contentLength = undefined;
    this.body = undefined;
    this.outcome = undefined;
  }

  /** Hands the body to `reader` chunk by chunk; a failure of the wire is a `bodyError`, one of the reader a `readerError`. */
  private async readInto(res: Response, reader: BodyReader): Promise<BodyOutcome> {
    try {
      if (res.body) {
        for await (const chunk of res.body) {
          this.bytesReceived += chunk.byteLength;
          try {
            reader.push(chunk);
          } catch (err) {
            this.readerError = err;
            throw err;
          }
        }
      }
    } catch (err) {
      if (this.readerError === undefined) this.bodyError = err;
      throw err;
    }
    try {
      return reader.end();
    } catch (err) {
      this.readerError = err;
      throw err;
    }
  }

  private async readBody(res: Response, declared: number | undefined): Promise<Buffer> {
    if (!res.body) return Buffer.alloc(0);
    // With a believable Content-Length the body goes straight into one buffer of that size, so a
    // 30 MB listing is held once, not as chunks plus their concatenation.
    let into = declared !== undefined ? Buffer.allocUnsafe(declared) : null;
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

/** The body handed to proxmox-api: whole bytes (or none), or what an incremental reader made of it. */
type Captured = BodyOutcome | { readonly kind: 'whole'; readonly body: Buffer | null };

/**
 * The Response handed to proxmox-api: the body is already in memory (or already parsed), so
 * text()/json() answer from that directly. A plain `new Response(buffer)` copies it into a web
 * stream and back (two more copies of a 30 MB listing at 100,000 guests, and the time to make them).
 */
class BufferedResponse extends Response {
  constructor(
    private readonly captured: Captured,
    init: { status: number; statusText: string; headers: Response['headers'] },
  ) {
    super(null, init);
  }

  // UTF-8 decoding as fetch does it: a leading byte-order mark is dropped.
  override readonly text = async (): Promise<string> => {
    const captured = this.captured;
    if (captured.kind !== 'whole') throw new TypeError('the body was read incrementally; only json() can be asked');
    const text = captured.body ? captured.body.toString('utf8') : '';
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  };

  override readonly json = async (): Promise<unknown> => {
    const captured = this.captured;
    switch (captured.kind) {
      case 'whole':
        return JSON.parse(await this.text()) as unknown;
      case 'streamed':
        return { data: STREAMED_DATA };
      case 'value':
        return captured.value;
      case 'invalid':
        throw captured.error;
    }
  };
}
