// The panel client: sends one sync request per call and classifies every outcome; never throws for wire failures.
import axios, { type AxiosInstance } from 'axios';
import type { PanelClient, PanelResult } from '../domain/ports.js';
import type { PanelFields } from '../domain/types.js';
import type { Logger } from '../util/logger.js';
import { createAgents } from './agent.js';
import { classifyAxiosOutcome } from './axios-outcome.js';
import type { Classified, PanelAction } from './classify.js';
import { scrub } from './text.js';
import { createBody, deleteBody, updateBody } from './wire.js';

export interface PanelClientOptions {
  /** The panel's base URL (`https://panel.ospab.host`); `/api/vps/sync` is appended. */
  readonly url: string;
  /** Secret: sent only in the `X-API-Key` header, scrubbed from every message. */
  readonly apiKey: string;
  /** Whole-request deadline (connect to last byte). */
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** Parallel requests the engine makes; the agents keep at least this many sockets. */
  readonly concurrency?: number;
  /** Idle keep-alive sockets are dropped after this (default 4000 ms). */
  readonly idleSocketMs?: number;
  /** Extra CA (PEM) for a panel behind a private CA. */
  readonly ca?: string;
}

/** A panel client that also releases its keep-alive sockets. */
export interface ClosablePanelClient extends PanelClient {
  /** Destroys the pooled sockets; call on shutdown. */
  close(): void;
}

// Bodies of real answers are a few hundred bytes; a runaway proxy page must not fill memory.
const MAX_ANSWER_BYTES = 1_048_576;

/** Creates the client for `POST {url}/api/vps/sync`. */
export function createPanelClient(options: PanelClientOptions): ClosablePanelClient {
  const { httpAgent, httpsAgent } = createAgents({
    maxSockets: Math.max(options.concurrency ?? 8, 1),
    idleSocketMs: options.idleSocketMs ?? 4000,
    ca: options.ca,
  });
  const http: AxiosInstance = axios.create({
    httpAgent,
    httpsAgent,
    timeout: options.timeoutMs,
    // Redirects are never followed: a redirected POST would turn into a GET.
    maxRedirects: 0,
    // Every status and every body reaches the classifier; nothing is parsed or thrown on the way.
    validateStatus: () => true,
    responseType: 'text',
    transformResponse: [(data: unknown) => data],
    maxContentLength: MAX_ANSWER_BYTES,
    proxy: false,
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'User-Agent': 'ospab-vps-sync' },
  });
  const endpoint = `${options.url.replace(/\/+$/, '')}/api/vps/sync`;

  async function send(action: PanelAction, body: unknown, signal: AbortSignal | undefined): Promise<Classified> {
    if (signal?.aborted) return { ok: false, kind: 'retryable', message: `panel ${action}: aborted before sending` };
    let classified: Classified;
    try {
      const response = await http.post(endpoint, JSON.stringify(body), {
        headers: { 'X-API-Key': options.apiKey },
        signal,
      });
      classified = classifyAxiosOutcome(action, response);
    } catch (err) {
      classified = classifyAxiosOutcome(action, err);
    }
    if (classified.ok) return classified;
    const message = scrub(classified.message, options.apiKey);
    options.logger.debug({ action, kind: classified.kind, status: classified.status }, message);
    return { ...classified, message };
  }

  return {
    async create(fields: PanelFields, signal?: AbortSignal): Promise<PanelResult<{ id: number }>> {
      const r = await send('create', createBody(fields), signal);
      if (!r.ok) return r;
      // classifyAnswer only reports a create as ok when it carries a valid id.
      return { ok: true, status: r.status, value: { id: r.id! } };
    },
    async update(id: number, fields: PanelFields, signal?: AbortSignal): Promise<PanelResult<void>> {
      const r = await send('update', updateBody(id, fields), signal);
      return r.ok ? { ok: true, status: r.status, value: undefined } : r;
    },
    async delete(id: number, signal?: AbortSignal): Promise<PanelResult<void>> {
      const r = await send('delete', deleteBody(id), signal);
      return r.ok ? { ok: true, status: r.status, value: undefined } : r;
    },
    close(): void {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
