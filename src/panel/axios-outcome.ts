// Adapts what axios gives back (a response, or an error) to the facts the classifier needs.
import { isAxiosError, type AxiosResponse } from 'axios';
import { socketConnected } from './agent.js';
import { classifyAnswer, classifyTransport, type Classified, type PanelAction } from './classify.js';

/** Classifies an axios response (any status) or a thrown axios error for one action. */
export function classifyAxiosOutcome(action: PanelAction, outcome: AxiosResponse<unknown> | unknown): Classified {
  if (isResponse(outcome)) {
    const location = outcome.headers?.['location'];
    return classifyAnswer(action, {
      status: outcome.status,
      statusText: outcome.statusText,
      body: typeof outcome.data === 'string' ? outcome.data : JSON.stringify(outcome.data ?? ''),
      location: typeof location === 'string' ? location : undefined,
    });
  }
  if (isAxiosError(outcome)) {
    // A received answer that failed afterwards (e.g. too large) still went through the panel.
    if (outcome.response) return classifyAxiosOutcome(action, outcome.response);
    const request: unknown = outcome.request;
    const connected = request === undefined ? undefined : socketConnected((request as { socket?: unknown }).socket);
    return classifyTransport(action, { code: outcome.code, message: outcome.message, connected });
  }
  const err = outcome as { code?: unknown; message?: unknown } | null;
  return classifyTransport(action, {
    code: typeof err?.code === 'string' ? err.code : undefined,
    message: typeof err?.message === 'string' ? err.message : String(outcome),
    connected: undefined,
  });
}

function isResponse(value: unknown): value is AxiosResponse<unknown> {
  return typeof value === 'object' && value !== null && 'status' in value && 'config' in value && 'headers' in value && !isAxiosError(value);
}
