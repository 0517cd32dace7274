// The panel client: sends one sync request per call and classifies every outcome; never throws for wire failures.
import type { PanelClient, PanelResult } from '../domain/ports.js';
import type { PanelFields } from '../domain/types.js';
import type { Logger } from '../util/logger.js';
import { classifyAnswer, classifyTransport, type Classified, type HttpAnswer, type PanelAction, type TransportFailure } from './classify.js';
import { scrub } from './text.js';
import { PanelTransport, type Outcome } from './transport.js';
import { createBody, deleteBody, updateBody } from './wire.js';

export interface PanelClientOptions {
  /** The panel's base URL (`https://panel.ospab.host`); `/api/vps/sync` is appended. */
  readonly url: string;
  /** Secret: sent only in the `X-API-Key` header, scrubbed from every message. */
  readonly apiKey: string;
  /** Whole-request deadline (connect to last byte). */
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** Parallel requests the engine makes; the pool keeps at least this many connections. */
  readonly concurrency?: number;
  /** Idle keep-alive connections are dropped after this (default 4000 ms). */
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
  const transport = new PanelTransport({
    url: options.url,
    headers: { 'content-type': 'application/json', accept: 'application/json', 'user-agent': 'ospab-vps-sync', 'x-api-key': options.apiKey },
    timeoutMs: options.timeoutMs,
    connections: Math.max(options.concurrency ?? 8, 1),
    idleSocketMs: options.idleSocketMs ?? 4000,
    maxAnswerBytes: MAX_ANSWER_BYTES,
    ...(options.ca ? { ca: options.ca } : {}),
  });

  const secrets = [options.apiKey];

  async function send(action: PanelAction, body: unknown, signal: AbortSignal | undefined): Promise<Classified> {
    if (signal?.aborted) return { ok: false, kind: 'retryable', message: `panel ${action}: aborted before sending` };
    const outcome = scrubOutcome(await transport.post(JSON.stringify(body), signal), secrets);
    const classified = 'answer' in outcome ? classifyAnswer(action, outcome.answer) : classifyTransport(action, outcome.failure);
    if (classified.ok) return classified;
    // Already clean (the inputs were scrubbed whole); once more in case a message ever takes text from elsewhere.
    const message = scrub(classified.message, secrets);
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
      transport.close();
    },
  };
}

/**
 * The outcome with every secret taken out of the text that can end up in a message, before
 * anything cuts it: the classifier excerpts bodies to ~200 characters, and a key cut in two at
 * the excerpt's end would no longer match a later scrub (half of it would reach the logs).
 */
function scrubOutcome(outcome: Outcome, secrets: readonly string[]): Outcome {
  if ('answer' in outcome) return { answer: scrubAnswer(outcome.answer, secrets) };
  const failure: TransportFailure = { ...outcome.failure, message: scrub(outcome.failure.message, secrets) };
  return { failure };
}

function scrubAnswer(answer: HttpAnswer, secrets: readonly string[]): HttpAnswer {
  return {
    ...answer,
    body: scrub(answer.body, secrets, answer.truncated === true),
    ...(answer.statusText !== undefined ? { statusText: scrub(answer.statusText, secrets) } : {}),
    ...(answer.location !== undefined ? { location: scrub(answer.location, secrets) } : {}),
  };
}
