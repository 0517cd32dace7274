// Talks to one Proxmox VE cluster through the proxmox-api client: one
// `GET /cluster/resources?type=vm` per listing, bounded by `timeoutMs` (headers and body) and
// the caller's signal, with every failure turned into a one-line `SourceError`. The guest list is
// validated and mapped while it arrives (see stream.ts), so the raw list is never held whole.
// A cluster listed through several nodes (`fallbackUrls`) is asked at the next node only when the
// node asked could not answer for the cluster; each such attempt is one more request.
import { proxmoxApi, type ProxmoxEngineOptions } from 'proxmox-api';
import { fetch as undiciFetch, type Agent } from 'undici';
import { scrub } from '../../config/redact.js';
import type { ProxmoxSourceConfig } from '../../config/schema.js';
import { systemClock, type Clock } from '../../domain/ports.js';
import type { SourceEndpoint } from '../../domain/types.js';
import { isCertificateFailure, RenewableAgent } from '../trust.js';
import { CapturedCall, STREAMED_DATA, type AnswerHead, type BodyReader, type FetchFn } from './capture.js';
import { inOrder, parseEndpoints, type Endpoint } from './endpoints.js';
import { networkError, SourceError, type SourceErrorReason } from './errors.js';
import { afterFailures, allFailed, failoverEvent, isNodeFault, type Failure, type FailoverEvent } from './failover.js';
import type { ListingBuilder } from './listing.js';
import { guestListSchema } from './schema.js';
import { DEFAULT_BATCH_BYTES, GuestListStream } from './stream.js';
import { printable, withoutJsonExcerpt } from './text.js';
import { createDispatcher } from './tls.js';

export { SourceError, type SourceErrorReason } from './errors.js';
export type { FailoverEvent } from './failover.js';

const PVE_CONTENT_TYPE = 'application/json;charset=UTF-8';
// The formats proxmox-api checks in its constructor (where it would console.error and throw).
const TOKEN_ID = /.*@.+!.+/;
const TOKEN_SECRET = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type ClientConfig = Pick<ProxmoxSourceConfig, 'name' | 'url' | 'fallbackUrls' | 'tokenId' | 'tokenSecret' | 'timeoutMs' | 'tls'>;

/**
 * How long a fallback in use is kept before `url` is asked first again. The listings stay with a
 * node that answers (a dead `url` costs one failed request per this while, not one per pass), and
 * come back to `url` by themselves once it answers again, without a restart.
 */
export const FAILBACK_AFTER_MS = 10 * 60_000;

export interface ClientOptions {
  /** Bytes of the guest list parsed at a time (the benchmark and the tests vary it). */
  readonly batchBytes?: number;
  /** Told once per listing that another endpoint answered after the first one(s) failed. */
  readonly onFailover?: (event: FailoverEvent) => void;
  /** Told when `url` answers again after listings went through a fallback. */
  readonly onFailback?: (event: { readonly source: string; readonly url: string; readonly from: string }) => void;
  /** When `url` failed, for `inUse` and the failback (the system clock by default). */
  readonly clock?: Clock;
}

/** How one attempt at one endpoint ended. */
type Attempt =
  | { readonly ok: true; readonly builder: ListingBuilder }
  | {
      readonly ok: false;
      readonly error: SourceError;
      /** Another node may answer (see isNodeFault). */
      readonly nodeFault: boolean;
      /** The node's certificate failed verification: a CA file read again may trust it. */
      readonly certificate: boolean;
    };

/** The HTTP side of one Proxmox source; holds the connection pool and the sticky endpoint between passes. */
export class ProxmoxClient {
  /**
   * One pool for every endpoint: undici keeps connections per origin inside one Agent, and the TLS
   * settings (one CA signs every node of a cluster) are the same for all. Built at the first
   * listing (reading `tls.caFile`) and kept, except after a certificate failure: then the next
   * listing builds a new one, reading the CA file again (a renewed cluster CA needs no restart).
   */
  private readonly pool = new RenewableAgent<Agent>(() => createDispatcher(this.config.name, this.config.tls));
  /** Config index of the endpoint that last listed the cluster: the next listing starts there. */
  private first = 0;
  /** What `inUse` says: set by each successful listing. */
  private answered: SourceEndpoint | undefined;
  /** When the attempt at `url` last failed for the node's fault (ms), so a fallback in use can say since when. */
  private urlFailedAt: number | undefined;

  constructor(
    private readonly config: ClientConfig,
    private readonly baseFetch: FetchFn = undiciFetch,
    private readonly options: ClientOptions = {},
  ) {}

  /**
   * The guests of the cluster, fed to a builder from `newBuilder` as they arrive (a fresh one
   * per attempt); throws `SourceError` when the listing is unusable. With `fallbackUrls` the
   * endpoints are tried in turn, from the one that listed the cluster last, while the failure is the
   * node's and not the cluster's (failover.ts says which is which).
   */
  async listGuests(signal: AbortSignal, newBuilder: () => ListingBuilder): Promise<ListingBuilder> {
    try {
      if (signal.aborted) throw this.fail('aborted', `listing aborted (${this.abortText(signal)})`);
      const endpoints = this.endpoints();
      const lease = await this.pool.acquire();
      try {
        return await this.listThrough(lease.agent, endpoints, signal, newBuilder);
      } finally {
        lease.release();
      }
    } catch (err) {
      throw this.scrubbed(err);
    }
  }

  /**
   * `listGuests` through one pool: every endpoint of this listing uses it, even after one of them
   * failed its certificate (the pool is then renewed for the next listing, and closed once this one
   * is over): another node may still be trusted by it, and the source stays up meanwhile.
   */
  private async listThrough(dispatcher: Agent, endpoints: Endpoint[], signal: AbortSignal, newBuilder: () => ListingBuilder): Promise<ListingBuilder> {
    const name = this.config.name;
    const failures: Failure[] = [];
    const clock = this.options.clock ?? systemClock;
    const onFallback = this.first;
    // On a fallback for a while: ask `url` first once more, then the fallback as before. A
    // negative wait means the wall clock was set back since `url` failed: ask at once rather
    // than stay on the fallback for as long as the clock jumped.
    const waited = clock.now() - (this.urlFailedAt ?? 0);
    const failback = onFallback !== 0 && (waited >= FAILBACK_AFTER_MS || waited < 0);
    const order = failback ? [endpoints[0]!, ...inOrder(endpoints, onFallback).filter((e) => e.index !== 0)] : inOrder(endpoints, onFallback);
    for (const endpoint of order) {
      const attempt = await this.attempt(endpoint, dispatcher, signal, newBuilder);
      // The CA in the pool no longer trusts the cluster: read the CA file again next listing.
      if (!attempt.ok && attempt.certificate) this.pool.renew(dispatcher);
      if (attempt.ok) {
        this.first = endpoint.index;
        this.answered = this.endpointInUse(endpoint, endpoints[0]!);
        if (failback && endpoint.index === 0) this.options.onFailback?.({ source: name, url: endpoint.label, from: endpoints[onFallback]?.label ?? '' });
        // `url` still failing where the fallback still answers is not news: no second warning.
        const stillOnFallback = failback && endpoint.index === onFallback && failures.length === 1;
        if (failures.length > 0 && !stillOnFallback) this.options.onFailover?.(failoverEvent(name, failures, endpoint));
        return attempt.builder;
      }
      // Not sticky on a failure, even one the cluster's: a fallback that is not this cluster's API
      // (a mistyped base path, a proxy's page) would keep the source down after `url` is back.
      if (!attempt.nodeFault) throw afterFailures(name, attempt.error, endpoint, failures);
      if (endpoint.index === 0) this.urlFailedAt = clock.now();
      failures.push({ endpoint, error: attempt.error });
    }
    // One endpoint: its error exactly as without failover.
    throw failures.length === 1 ? failures[0]!.error : allFailed(name, failures);
  }

  /**
   * The endpoint that answered the last successful listing, if any did: read it when `listGuests`
   * has resolved (listings of one source do not overlap). Labels only, so no credentials.
   */
  get inUse(): SourceEndpoint | undefined {
    return this.answered;
  }

  /** What `inUse` says after `endpoint` answered; `url` is the configured one. */
  private endpointInUse(endpoint: Endpoint, url: Endpoint): SourceEndpoint {
    if (endpoint.index === 0) return { url: endpoint.label, fallback: false };
    // Always known here: a fallback is asked only after `url` failed, in this listing or in the one
    // that made the fallback sticky.
    const failedAt = this.urlFailedAt;
    return { url: endpoint.label, fallback: true, ...(failedAt === undefined ? {} : { primary: { url: url.label, failedAt } }) };
  }

  /**
   * One `GET /cluster/resources?type=vm` at one endpoint, within its own `timeoutMs` (headers
   * and body) and the caller's signal; every failure comes back scrubbed, with what it says
   * about the node.
   */
  private async attempt(endpoint: Endpoint, dispatcher: Agent, signal: AbortSignal, newBuilder: () => ListingBuilder): Promise<Attempt> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error(`timed out after ${this.config.timeoutMs} ms`)), this.config.timeoutMs);
    let call: CapturedCall | undefined;
    try {
      if (signal.aborted) throw this.fail('aborted', `listing aborted (${this.abortText(signal)})`);
      const url = endpoint.url;
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
      call = new CapturedCall(this.baseFetch, dispatcher, AbortSignal.any([signal, deadline.signal]), endpoint.basePath, readerFor);
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
        throw this.explain(err, call, endpoint, signal, deadline.signal);
      }
      if (data === STREAMED_DATA && streamed) return { ok: true, builder: streamed };
      const builder = newBuilder();
      builder.addBatch(this.checkList(data, call));
      return { ok: true, builder };
    } catch (err) {
      const error = this.scrubbed(err);
      const status = call?.status;
      const nodeFault = !signal.aborted && isNodeFault({ reason: error.reason, status, cutShort: call?.bodyError !== undefined });
      // Only a verification failure of the node's certificate, not any `tls` reason (http spoken
      // to an https port, a host-name mismatch): a CA file read again cannot cure those.
      const certificate = error.reason === 'tls' && call?.networkError !== undefined && isCertificateFailure(call.networkError);
      return { ok: false, error, nodeFault, certificate };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes pooled connections. */
  async close(): Promise<void> {
    await this.pool.close();
  }

  /** The configured endpoints, once the token is known to have a usable shape. */
  private endpoints(): Endpoint[] {
    const endpoints = parseEndpoints(this.config.url, this.config.fallbackUrls);
    if ('problem' in endpoints) throw this.fail('config', endpoints.problem);
    if (!TOKEN_ID.test(this.config.tokenId)) throw this.fail('config', 'tokenId must look like USER@REALM!TOKENID');
    if (!TOKEN_SECRET.test(this.config.tokenSecret)) throw this.fail('config', 'tokenSecret must be the lowercase UUID Proxmox showed');
    return endpoints;
  }

  /** Why a request failed, from what the captured call saw (more reliable than the library's message). */
  private explain(err: unknown, call: CapturedCall, endpoint: Endpoint, signal: AbortSignal, deadline: AbortSignal): unknown {
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
    if (call.networkError !== undefined) return networkError(this.config.name, endpoint.url.origin, call.networkError);
    if (call.status === undefined) return this.fail('http', `request failed: ${this.text(err instanceof Error ? err.message : String(err))}`, err);
    // From here the answer's status says it all. The library's own error is not kept as the cause:
    // its message interpolates the response's text() method, i.e. our reader's source code.
    const statusLine = `${call.status} ${this.text(call.statusText)}`.trim();
    if (call.status === 401) {
      return this.fail('auth', `${statusLine} — check tokenId/tokenSecret and that the token has PVEAuditor on /`);
    }
    if (call.status === 403) {
      return this.fail('auth', `${statusLine} — the token lacks a privilege: grant PVEAuditor on / (to the token itself when privilege separation is on)`);
    }
    if (call.status === 200 && call.contentType !== PVE_CONTENT_TYPE) {
      return this.fail('invalid_response', `answered with Content-Type "${this.text(call.contentType ?? '', 80)}" instead of ${PVE_CONTENT_TYPE} — is ${endpoint.url.origin} the Proxmox API and not a proxy or login page?`);
    }
    return this.fail('http', `HTTP ${statusLine} from GET /cluster/resources`);
  }

  /** The library hands back `data`, or null when the body was not JSON: say which. */
  private checkList(data: unknown, call: CapturedCall): unknown[] {
    if (data === null || data === undefined) {
      if (!call.contentType) throw this.fail('invalid_response', 'answered without a Content-Type');
      const notJson = call.notJson();
      if (notJson) throw this.fail('invalid_response', `answer is not JSON (${this.text(withoutJsonExcerpt(notJson.message), 120)}; ${notJson.bytes} bytes)`);
      throw this.fail('invalid_response', 'answer has "data": null instead of a guest list');
    }
    const parsed = guestListSchema.safeParse(data);
    if (!parsed.success) throw this.fail('invalid_response', parsed.error.issues[0]?.message ?? 'answer is not a guest list');
    return parsed.data;
  }

  private abortText(signal: AbortSignal): string {
    const r: unknown = signal.reason;
    return this.text(r instanceof Error ? r.message : r === undefined ? 'aborted' : String(r), 120);
  }

  private fail(reason: SourceErrorReason, detail: string, cause?: unknown): SourceError {
    return new SourceError(this.config.name, reason, detail, cause === undefined ? undefined : { cause });
  }

  /**
   * Text from the server or a library, made one safe line: the secret goes first, so that the cut
   * to `max` characters cannot leave a piece of it (a proxy may echo the Authorization header).
   */
  private text(raw: string, max?: number): string {
    return printable(scrub(raw, [this.config.tokenSecret]), max);
  }

  /** Belt and braces: no message leaving the client may contain the token secret. */
  private scrubbed(err: unknown): SourceError {
    const secret = this.config.tokenSecret;
    if (!(err instanceof SourceError)) {
      return this.fail('http', this.text(String(err instanceof Error ? err.message : err)));
    }
    if (!err.message.includes(secret)) return err;
    const detail = err.message.slice(`proxmox ${this.config.name}: `.length).split(secret).join('***');
    return new SourceError(err.source, err.reason, detail);
  }
}
