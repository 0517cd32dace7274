// Table-driven tests of the pure classifier: every status and transport failure, per action.
import { describe, expect, it } from 'vitest';
import { classifyAnswer, classifyTransport, type PanelAction } from '../../src/panel/index.js';

const ok201 = JSON.stringify({ status: 'success', message: 'VPS synced successfully', vps: { id: 17, name: 'a', status: 'creating', created_at: '2025-10-27T10:30:00Z' } });
const err = (status: string, message: string) => JSON.stringify({ error: status, message });
const html = '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>';
// Answers that come from something in front of the panel, not from its sync handler.
const nginx404 = '<html>\r\n<head><title>404 Not Found</title></head>\r\n<body><center><h1>404 Not Found</h1></center><hr><center>nginx</center></body></html>';
const goMux404 = '404 page not found\n';
const ssoLogin = '<!doctype html><html><head><title>Sign in</title></head><body><form>Login</form></body></html>';
const maintenance = '<html><body>Down for maintenance</body></html>';

type Row = [PanelAction, number, string, string];
// [action, status, body, expected kind or "ok"]
const answers: Row[] = [
  ['create', 201, ok201, 'ok'],
  ['create', 200, ok201, 'ok'],
  ['create', 204, '', 'ambiguous'],
  ['create', 200, '{"status":"success"}', 'ambiguous'],
  ['create', 200, '{"vps":{"id":"17"}}', 'ambiguous'],
  ['create', 200, '{"vps":{"id":0}}', 'ambiguous'],
  ['create', 200, html, 'ambiguous'],
  // update/delete 2xx: ok only when the body is empty or the panel's JSON (status, if any, "success").
  ['update', 200, '', 'ok'],
  ['update', 204, '', 'ok'],
  ['delete', 204, '', 'ok'],
  ['delete', 200, ' \r\n', 'ok'],
  ['update', 201, ok201, 'ok'],
  ['delete', 200, ok201, 'ok'],
  ['update', 200, '{"status":"success"}', 'ok'],
  ['delete', 201, '{}', 'retryable'],
  ['update', 200, '{"message":"maintenance"}', 'retryable'],
  ['update', 200, ssoLogin, 'retryable'],
  ['delete', 200, ssoLogin, 'retryable'],
  ['update', 200, maintenance, 'retryable'],
  ['delete', 200, maintenance, 'retryable'],
  ['update', 200, '{"status":"error","message":"VPS not found"}', 'retryable'],
  ['delete', 200, '{"status":"error"}', 'retryable'],
  ['update', 200, '{"status":null}', 'retryable'],
  ['update', 200, 'whatever', 'retryable'],
  ['delete', 204, 'OK', 'retryable'],
  ['delete', 200, '[]', 'retryable'],
  ['update', 200, 'null', 'retryable'],
  ['update', 200, '"success"', 'retryable'],
  ['create', 400, err('Bad Request', 'user not found'), 'rejected'],
  ['update', 400, err('Bad Request', 'bad status'), 'rejected'],
  ['create', 401, err('Unauthorized', 'Invalid or missing API key'), 'unauthorized'],
  ['delete', 401, '', 'unauthorized'],
  ['create', 403, html, 'unauthorized'],
  // update/delete 404: not_found only when the panel's JSON error says so; anything else never reached its handler.
  ['update', 404, err('Not Found', 'VPS not found'), 'not_found'],
  ['delete', 404, err('Not Found', 'VPS not found'), 'not_found'],
  ['update', 404, '{"error":"Not Found"}', 'retryable'],
  ['delete', 404, '{"message":"VPS not found","code":7}', 'retryable'],
  // Gateways answer a missing route with JSON of their own: Kong, Spring Cloud Gateway.
  ['update', 404, '{"message":"no Route matched with those values"}', 'retryable'],
  ['delete', 404, '{"timestamp":"2026-11-27T10:00:00Z","path":"/api/vps/sync","status":404,"error":"Not Found","message":"x"}', 'retryable'],
  ['update', 404, nginx404, 'retryable'],
  ['delete', 404, nginx404, 'retryable'],
  ['update', 404, goMux404, 'retryable'],
  ['delete', 404, goMux404, 'retryable'],
  ['update', 404, '', 'retryable'],
  ['delete', 404, '', 'retryable'],
  ['update', 404, '{}', 'retryable'],
  ['delete', 404, '{"error":"","message":"  "}', 'retryable'],
  ['update', 404, '{"error":404}', 'retryable'],
  ['delete', 404, '["Not Found"]', 'retryable'],
  ['update', 404, '"Not Found"', 'retryable'],
  ['create', 404, '404 page not found', 'retryable'],
  ['create', 404, nginx404, 'retryable'],
  ['create', 404, err('Not Found', 'no route'), 'retryable'],
  ['create', 409, err('Conflict', 'exists'), 'rejected'],
  ['create', 422, err('Unprocessable Entity', 'no'), 'rejected'],
  ['create', 405, '', 'rejected'],
  ['create', 301, '', 'rejected'],
  ['create', 429, err('Too Many Requests', 'slow down'), 'retryable'],
  ['create', 408, '', 'retryable'],
  ['create', 502, html, 'retryable'],
  ['update', 502, html, 'retryable'],
  ['create', 503, '', 'retryable'],
  ['create', 500, err('Internal Server Error', 'db'), 'ambiguous'],
  ['create', 504, html, 'ambiguous'],
  ['create', 507, '', 'ambiguous'],
  ['update', 500, err('Internal Server Error', 'db'), 'retryable'],
  ['delete', 504, '', 'retryable'],
];

describe('classifyAnswer', () => {
  it.each(answers)('%s %i → %#: %s', (action, status, body, expected) => {
    const r = classifyAnswer(action, { status, body });
    expect(r.ok ? 'ok' : r.kind).toBe(expected);
    if (!r.ok) {
      expect(r.status).toBe(status);
      expect(r.message.startsWith(`panel ${action}: `)).toBe(true);
      expect(r.message).not.toMatch(/\n/);
    }
  });

  it('a create answer gives the new id', () => {
    expect(classifyAnswer('create', { status: 201, body: ok201 })).toEqual({ ok: true, status: 201, id: 17 });
  });

  it('says the action, status and panel message', () => {
    const r = classifyAnswer('create', { status: 400, body: err('Bad Request', 'user not found') });
    expect(r).toMatchObject({ ok: false, kind: 'rejected', message: 'panel create: 400 Bad Request: user not found' });
  });

  it('explains a 401 with where to fix the key', () => {
    const r = classifyAnswer('update', { status: 401, body: err('Unauthorized', 'Invalid or missing API key') });
    expect(!r.ok && r.message).toContain(
      "panel refused the API key (401): check panel.apiKey / VPS_SYNC_API_KEY matches the panel's VPS_SYNC_API_KEY",
    );
  });

  it('reports an HTML body as a short single-line excerpt', () => {
    const r = classifyAnswer('create', { status: 502, body: html + 'x'.repeat(1000) });
    expect(r.ok).toBe(false);
    const message = (r as { message: string }).message;
    expect(message).toMatch(/^panel create: 502 Bad Gateway: 502 Bad Gateway 502 Bad Gateway nginx/);
    expect(message).not.toContain('<');
    expect(message.length).toBeLessThan(260);
  });

  it.each([
    ['update', nginx404, '404 Not Found 404 Not Found nginx'],
    ['delete', goMux404, '404 page not found'],
    ['update', '', '(empty body)'],
  ] as const)('a %s 404 that is not the panel\'s says so, and what to check: %j', (action, body, shown) => {
    const r = classifyAnswer(action, { status: 404, body });
    expect(r).toMatchObject({ ok: false, kind: 'retryable', status: 404 });
    const message = (r as { message: string }).message;
    expect(message.startsWith(`panel ${action}: 404 Not Found: ${shown} (`)).toBe(true);
    expect(message).toContain("did not come from its sync handler");
    expect(message).toContain('panel.url');
    expect(message).toContain('proxy');
  });

  it('a panel 404 keeps its plain message', () => {
    const r = classifyAnswer('delete', { status: 404, body: err('Not Found', 'VPS not found') });
    expect(r).toEqual({ ok: false, kind: 'not_found', status: 404, message: 'panel delete: 404 Not Found: VPS not found' });
  });

  it.each([
    ['update', ssoLogin, 'Sign in Login'],
    ['delete', '{"status":"error","message":"VPS not found"}', '{"status":"error","message":"VPS not found"}'],
  ] as const)('a %s 2xx that is not the panel\'s answer gives the status and an excerpt: %j', (action, body, shown) => {
    const r = classifyAnswer(action, { status: 200, body });
    expect(r).toMatchObject({ ok: false, kind: 'retryable', status: 200 });
    const message = (r as { message: string }).message;
    expect(message.startsWith(`panel ${action}: 200 OK but the answer is not the panel's: ${shown} (`)).toBe(true);
    expect(message).toContain('single-sign-on proxy or a maintenance page');
  });

  it('says where a redirect points', () => {
    const r = classifyAnswer('create', { status: 308, body: '', location: 'https://panel.example/api/vps/sync' });
    expect(!r.ok && r.message).toContain('redirected to https://panel.example/api/vps/sync');
  });
});

type TRow = [PanelAction, string | undefined, boolean | undefined, string];
const transport: TRow[] = [
  ['create', 'ECONNREFUSED', false, 'retryable'],
  ['create', 'ENOTFOUND', undefined, 'retryable'],
  ['create', 'EAI_AGAIN', undefined, 'retryable'],
  ['create', 'DEPTH_ZERO_SELF_SIGNED_CERT', undefined, 'retryable'],
  ['create', 'ERR_TLS_CERT_ALTNAME_INVALID', undefined, 'retryable'],
  ['create', 'ERR_SSL_WRONG_VERSION_NUMBER', undefined, 'retryable'],
  ['create', 'ETIMEDOUT', false, 'retryable'],
  ['create', 'ERR_CANCELED', false, 'retryable'],
  ['create', 'ETIMEDOUT', true, 'ambiguous'],
  ['create', 'ECONNABORTED', true, 'ambiguous'],
  ['create', 'ECONNRESET', true, 'ambiguous'],
  ['create', 'ECONNRESET', undefined, 'ambiguous'],
  ['create', 'EPIPE', true, 'ambiguous'],
  ['create', 'ERR_CANCELED', true, 'ambiguous'],
  ['create', undefined, undefined, 'ambiguous'],
  // Codes that usually mean "never sent", after the request went out on an established connection.
  ['create', 'EHOSTUNREACH', true, 'ambiguous'],
  ['create', 'ENETUNREACH', true, 'ambiguous'],
  ['create', 'EPROTO', true, 'ambiguous'],
  ['create', 'ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC', true, 'ambiguous'],
  ['create', 'EHOSTUNREACH', undefined, 'retryable'],
  ['update', 'EHOSTUNREACH', true, 'retryable'],
  ['update', 'ETIMEDOUT', true, 'retryable'],
  ['update', 'ECONNRESET', true, 'retryable'],
  ['delete', 'EPIPE', undefined, 'retryable'],
  ['delete', 'ECONNREFUSED', false, 'retryable'],
];

describe('classifyTransport', () => {
  it.each(transport)('%s %s (connected: %s) → %s', (action, code, connected, expected) => {
    const r = classifyTransport(action, { code, message: 'boom', connected });
    expect(r.kind).toBe(expected);
    expect(r.message.startsWith(`panel ${action}: `)).toBe(true);
  });
});
