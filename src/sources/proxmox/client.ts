// Talks to one Proxmox VE cluster through the proxmox-api client: exactly one
// `GET /cluster/resources?type=vm` per listing, bounded by `timeoutMs` (headers and body) and
// the caller's signal, with every failure turned into a one-line `SourceError`. The guest list is
// validated and mapped while it arrives (see stream.ts), so the raw list is never held whole.
import { proxmoxApi, type ProxmoxEngineOptions } from 'proxmox-api';
import { fetch as undiciFetch, type Agent } from 'undici';
import type { ProxmoxSourceConfig } from '../../config/schema.js';
import { CapturedCall, STREAMED_DATA, type AnswerHead, type BodyReader, type FetchFn } from './capture.js';
import { networkError, SourceError, type SourceErrorReason } from './errors.js';
import type { ListingBuilder } from './listing.js';
import { guestListSchema } from './schema.js';
import { DEFAULT_BATCH_BYTES, GuestListStream } from './stream.js';
import { createDispatcher } from './tls.js';

export { SourceError, type SourceErrorReason } from './errors.js';

const PVE_CONTENT_TYPE = 'application/json;charset=UTF-8';
// The formats proxmox-api checks in its constructor (where it would console.error and throw).
const TOKEN_ID = /.*@.+!.+/;
const TOKEN_SECRET = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type ClientConfig = Pick<ProxmoxSourceConfig, 'name' | 'url' | 'tokenId' | 'tokenSecret' | 'timeoutMs' | 'tls'>;

export interface ClientOptions {
  /** Bytes of the guest list parsed at a time (the benchmark and the tests vary it). */
  readonly batchBytes?: number;
}

/** Removes control characters and caps length, for text that came from the server. */
function printable(text: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/** The HTTP side of one Proxmox source; holds the connection pool between passes. */
export class ProxmoxClient {
  private dispatcher: Agent | undefined;

  constructor(
    private readonly config: ClientConfig,
    private readonly baseFetch: FetchFn = undiciFetch,
    private readonly options: ClientOptions = {},
  ) {}

  /**
   * The guests of the cluster, fed to a builder from `newBuilder` as they arrive (a fresh one
   * per attempt); throws `SourceError` when the listing is unusable.
   */
  async listGuests(signal: AbortSignal, newBuilder: () => ListingBuilder): Promise<ListingBuilder> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error(`timed out after ${this.config.timeoutMs} ms`)), this.config.timeoutMs);
    try {
      if (signal.aborted) throw this.fail('aborted', `listing aborted (${this.abortText(signal)})`);
      const url = this.parsedUrl();
      this.dispatcher ??= await createDispatcher(this.config.name, this.config.tls);
      // The builder fed by the reader of the latest answer (the library may retry once).
      let streamed: ListingBuilder | undefined;
      const readerFor = (head: AnswerHead): BodyReader | undefined => {
        streamed = undefined;
        // Only a success the library will parse as JSON; anything else is small and kept whole.
        if (head.status !== 200 || head.contentType !== PVE_CONTENT_TYPE) return undefined;
        const builder = newBuilder();
        streamed = builder;
        return new GuestListStream((entries) => builder.addBatch(entries), this.options.batchBytes ?? DEFAULT_BATCH_BYTES, head.contentLength);
      };
      const call = new CapturedCall(this.baseFetch, this.dispatcher, AbortSignal.any([signal, deadline.signal]), url.pathname.replace(/\/+$/, ''), readerFor);
      const px = proxmoxApi({
        host: url.hostname,
        port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80,
        schema: url.protocol === 'https:' ? 'https' : 'http',
        tokenID: this.config.tokenId,
        tokenSecret: this.config.tokenSecret,
        // Our own deadline (which also covers the body) must fire first, so the error says "timeout".
        queryTimeout: this.config.timeoutMs + 1000,
        // proxmox-api types its fetch with its own (older) undici; the call shape is the same.
        fetch: call.fetch as unknown as NonNullable<ProxmoxEngineOptions['fetch']>,
      });
      let data: unknown;
      try {
        data = await px.cluster.resources.$get({ type: 'vm' });
      } catch (err) {
        throw this.explain(err, call, signal, deadline.signal);
      }
      if (data === STREAMED_DATA && streamed) return streamed;
      const builder = newBuilder();
      builder.addBatch(this.checkList(data, call));
      return builder;
    } catch (err) {
      throw this.scrubbed(err);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes pooled connections. */
  async close(): Promise<void> {
    const d = this.dispatcher;
    this.dispatcher = undefined;
    await d?.close();
  }

  private parsedUrl(): URL {
    let url: URL;
    try {
      url = new URL(this.config.url);
    } catch {
      throw this.fail('config', `url "${printable(this.config.url, 100)}" is not a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw this.fail('config', `url must be http:// or https://, got ${url.protocol}`);
    if (!TOKEN_ID.test(this.config.tokenId)) throw this.fail('config', 'tokenId must look like USER@REALM!TOKENID');
    if (!TOKEN_SECRET.test(this.config.tokenSecret)) throw this.fail('config', 'tokenSecret must be the lowercase UUID Proxmox showed');
    return url;
  }

  private get origin(): string {
    try {
      return new URL(this.config.url).origin;
    } catch {
      return '(bad url)';
    }
  }

  /** Why a request failed, from what the captured call saw (more reliable than the library's message). */
  private explain(err: unknown, call: CapturedCall, signal: AbortSignal, deadline: AbortSignal): unknown {
    // Our own reader failed (a bug, not the wire): say that, not "truncated".
    if (call.readerError !== undefined) return call.readerError;
    if (signal.aborted) return this.fail('aborted', `listing aborted (${this.abortText(signal)})`, err);
    if (deadline.aborted) {
      const phase = call.status === undefined ? 'waiting for an answer' : `reading the answer (${call.bytesReceived} bytes received)`;
      return this.fail('timeout', `timed out after ${this.config.timeoutMs} ms ${phase}`, err);
    }
    if (call.bodyError !== undefined) {
      const of = call.contentLength !== undefined ? ` of ${call.contentLength}` : '';
      return this.fail('invalid_response', `answer truncated: connection closed after ${call.bytesReceived}${of} bytes`, call.bodyError);
    }
    if (call.networkError !== undefined) return networkError(this.config.name, this.origin, call.networkError);
    if (call.status === undefined) return this.fail('http', `request failed: ${printable(err instanceof Error ? err.message : String(err))}`, err);
    // From here the answer's status says it all. The library's own error is not kept as the cause:
    // its message interpolates the response's text() method, i.e. our reader's source code.
    const statusLine = `${call.status} ${printable(call.statusText)}`.trim();
    if (call.status === 401) {
      return this.fail('auth', `${statusLine} — check tokenId/tokenSecret and that the token has PVEAuditor on /`);
    }
    if (call.status === 403) {
      return this.fail('auth', `${statusLine} — the token lacks a privilege: grant PVEAuditor on / (to the token itself when privilege separation is on)`);
    }
    if (call.status === 200 && call.contentType !== PVE_CONTENT_TYPE) {
      return this.fail('invalid_response', `answered with Content-Type "${printable(call.contentType ?? '', 80)}" instead of ${PVE_CONTENT_TYPE} — is ${this.origin} the Proxmox API and not a proxy or login page?`);
    }
    return this.fail('http', `HTTP ${statusLine} from GET /cluster/resources`);
  }

  /** The library hands back `data`, or null when the body was not JSON: say which. */
  private checkList(data: unknown, call: CapturedCall): unknown[] {
    if (data === null || data === undefined) {
      if (!call.contentType) throw this.fail('invalid_response', 'answered without a Content-Type');
      const notJson = call.notJson();
      if (notJson) throw this.fail('invalid_response', `answer is not JSON (${printable(notJson.message, 120)}; ${notJson.bytes} bytes)`);
      throw this.fail('invalid_response', 'answer has "data": null instead of a guest list');
    }
    const parsed = guestListSchema.safeParse(data);
    if (!parsed.success) throw this.fail('invalid_response', parsed.error.issues[0]?.message ?? 'answer is not a guest list');
    return parsed.data;
  }

  private abortText(signal: AbortSignal): string {
    const r: unknown = signal.reason;
    return printable(r instanceof Error ? r.message : r === undefined ? 'aborted' : String(r), 120);
  }

  private fail(reason: SourceErrorReason, detail: string, cause?: unknown): SourceError {
    return new SourceError(this.config.name, reason, detail, cause === undefined ? undefined : { cause });
  }

  /** Belt and braces: no message leaving the client may contain the token secret. */
  private scrubbed(err: unknown): unknown {
    const secret = this.config.tokenSecret;
    if (!(err instanceof SourceError)) {
      return this.fail('http', printable(String(err instanceof Error ? err.message : err)).split(secret).join('***'));
    }
    if (!err.message.includes(secret)) return err;
    const detail = err.message.slice(`proxmox ${this.config.name}: `.length).split(secret).join('***');
    return new SourceError(err.source, err.reason, detail);
  }
}
