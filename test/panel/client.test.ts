// The panel client against the panel simulator over real HTTP: every answer class and fault mode.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PanelResult } from '../../src/domain/ports.js';
import { createPanelClient, type ClosablePanelClient } from '../../src/panel/index.js';
import { PanelSimulator, type FaultSpec } from '../../src/simulators/panel/index.js';
import { API_KEY, FIELDS, WRONG_KEY, capturingLogger, leakedPart } from './helpers.js';

let sim: PanelSimulator;
let url: string;
let client: ClosablePanelClient;
// Same client with a short deadline, for the faults that delay the answer.
let impatient: ClosablePanelClient;
const log = capturingLogger();
// Every message any client produced in this file; checked for the key at the end.
const messages: string[] = [];

function remember<R extends PanelResult<unknown>>(r: R): R {
  if (!r.ok) messages.push(r.message);
  return r;
}

function kindOf(r: PanelResult<unknown>): string {
  return r.ok ? 'ok' : r.kind;
}

beforeAll(async () => {
  sim = new PanelSimulator({ apiKey: API_KEY, knownUserIds: [5, 6] });
  ({ url } = await sim.start());
});
afterAll(async () => {
  await sim.stop();
  // Not even part of the key: a key cut by an excerpt is still a leak.
  for (const m of messages) expect(leakedPart(m, API_KEY)).toBeNull();
  for (const line of log.lines) expect(leakedPart(line, API_KEY)).toBeNull();
});
beforeEach(() => {
  sim.reset();
  client = createPanelClient({ url, apiKey: API_KEY, timeoutMs: 5000, logger: log.logger, concurrency: 8 });
  impatient = createPanelClient({ url, apiKey: API_KEY, timeoutMs: 200, logger: log.logger, concurrency: 8 });
});
afterEach(() => {
  client.close();
  impatient.close();
});

describe('happy path', () => {
  it('create returns the new id and the panel holds exactly that VPS, RAM in MB', async () => {
    const r = remember(await client.create(FIELDS));
    expect(r).toEqual({ ok: true, status: 201, value: { id: 1 } });
    expect(sim.table()).toEqual([
      expect.objectContaining({ id: 1, user_id: 5, name: 'web-1', cpu: 2, ram: 8192, disk: 50, os: 'Ubuntu 22.04 LTS', status: 'running', hypervisor: 'proxmox' }),
    ]);
  });

  it('accepts 200 as success too', async () => {
    sim.configure({ successStatus: 200 });
    expect(await client.create(FIELDS)).toEqual({ ok: true, status: 200, value: { id: 1 } });
  });

  it('update changes the status (and the other fields the panel takes)', async () => {
    await client.create(FIELDS);
    const r = remember(await client.update(1, { ...FIELDS, status: 'stopped', ram: 16384 }));
    expect(r).toEqual({ ok: true, status: 201, value: undefined });
    expect(sim.table()[0]).toMatchObject({ id: 1, status: 'stopped', ram: 16384 });
  });

  it('delete removes the VPS', async () => {
    await client.create(FIELDS);
    await client.create({ ...FIELDS, name: 'web-2' });
    expect(remember(await client.delete(1)).ok).toBe(true);
    expect(sim.table().map((r) => r.name)).toEqual(['web-2']);
  });

  it('runs many requests in parallel over the keep-alive pool, one row each', async () => {
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => client.create({ ...FIELDS, name: `vm-${i}` })));
    const ids = results.map((r) => (r.ok ? r.value.id : 0));
    expect(new Set(ids).size).toBe(60);
    expect(sim.table()).toHaveLength(60);
  });
});

describe('answers the panel refuses', () => {
  it('400 → rejected with the panel message', async () => {
    const r = remember(await client.create({ ...FIELDS, user_id: 99 }));
    expect(r).toEqual({ ok: false, kind: 'rejected', status: 400, message: 'panel create: 400 Bad Request: user not found' });
  });

  it('401 on a wrong key → unauthorized, telling where to fix it, without either key', async () => {
    const wrong = createPanelClient({ url, apiKey: WRONG_KEY, timeoutMs: 400, logger: log.logger });
    try {
      for (const r of [await wrong.create(FIELDS), await wrong.update(1, FIELDS), await wrong.delete(1)]) {
        expect(kindOf(r)).toBe('unauthorized');
        const message = (r as { message: string }).message;
        expect(message).toContain("check panel.apiKey / VPS_SYNC_API_KEY matches the panel's VPS_SYNC_API_KEY");
        expect(message).not.toContain(WRONG_KEY);
        messages.push(message);
      }
    } finally {
      wrong.close();
    }
    expect(log.lines.join('')).not.toContain(WRONG_KEY);
  });

  it('unknown id, 404 mode → not_found for update and delete', async () => {
    expect(kindOf(remember(await client.update(42, FIELDS)))).toBe('not_found');
    const r = remember(await client.delete(42));
    expect(r).toMatchObject({ kind: 'not_found', status: 404, message: 'panel delete: 404 Not Found: VPS not found' });
  });

  it('unknown id, 200 mode (the real panel does not check) → ok', async () => {
    sim.configure({ unknownId: '200', successStatus: 200 });
    expect(await client.update(42, FIELDS)).toEqual({ ok: true, status: 200, value: undefined });
    expect(await client.delete(42)).toEqual({ ok: true, status: 200, value: undefined });
  });

  it('404 on create (wrong base URL) → retryable, naming the likely cause', async () => {
    const misplaced = createPanelClient({ url: `${url}/panel`, apiKey: API_KEY, timeoutMs: 400, logger: log.logger });
    try {
      const r = remember(await misplaced.create(FIELDS));
      expect(r).toMatchObject({ ok: false, kind: 'retryable', status: 404 });
      expect((r as { message: string }).message).toContain('sync endpoint was not found');
    } finally {
      misplaced.close();
    }
  });
});

describe('fault modes → result kinds (create / update / delete) and what the table shows', () => {
  // [fault, create kind, update kind, delete kind, rows after the create]
  const table: [string, FaultSpec, string, string, string, number][] = [
    ['500', { mode: 'status5xx', code: 500 }, 'ambiguous', 'retryable', 'retryable', 0],
    ['502', { mode: 'status5xx', code: 502 }, 'retryable', 'retryable', 'retryable', 0],
    ['503', { mode: 'status5xx', code: 503 }, 'retryable', 'retryable', 'retryable', 0],
    ['504', { mode: 'status5xx', code: 504 }, 'ambiguous', 'retryable', 'retryable', 0],
    ['proxy HTML 502', { mode: 'nonJson' }, 'retryable', 'retryable', 'retryable', 0],
    ['commitThenFail', { mode: 'commitThenFail' }, 'ambiguous', 'retryable', 'retryable', 1],
    ['resetBeforeCommit', { mode: 'resetBeforeCommit' }, 'ambiguous', 'retryable', 'retryable', 0],
    ['resetAfterCommit', { mode: 'resetAfterCommit' }, 'ambiguous', 'retryable', 'retryable', 1],
    ['slow past the timeout, commit before', { mode: 'slowMs', ms: 400, commit: 'before' }, 'ambiguous', 'retryable', 'retryable', 1],
    ['slow past the timeout, commit after', { mode: 'slowMs', ms: 400, commit: 'after' }, 'ambiguous', 'retryable', 'retryable', 0],
  ];

  it.each(table)('%s', async (_name, fault, createKind, updateKind, deleteKind, rows) => {
    sim.addFault({ ...fault, action: 'create', times: 1 });
    expect(kindOf(remember(await impatient.create(FIELDS)))).toBe(createKind);
    // Let a delayed "commit after" finish (or not) before looking at the table.
    if (fault.mode === 'slowMs') await new Promise((r) => setTimeout(r, 300));
    expect(sim.table()).toHaveLength(rows);

    sim.reset();
    await impatient.create(FIELDS);
    sim.addFault({ ...fault, action: 'update', times: 1 });
    expect(kindOf(remember(await impatient.update(1, FIELDS)))).toBe(updateKind);
    sim.addFault({ ...fault, action: 'delete', times: 1 });
    expect(kindOf(remember(await impatient.delete(1)))).toBe(deleteKind);
  });

  it('commitThenFail on create: ambiguous, and the panel does hold the VPS (a retry would duplicate it)', async () => {
    sim.addFault({ mode: 'commitThenFail', times: 1 });
    const r = remember(await client.create(FIELDS));
    expect(r).toMatchObject({ ok: false, kind: 'ambiguous', status: 500 });
    expect((r as { message: string }).message).toMatch(/^panel create: 500 Internal Server Error: .*may have created it/);
    expect(sim.table()).toHaveLength(1);
  });

  it('an HTML 502 page is reported with a short excerpt, never thrown', async () => {
    sim.addFault({ mode: 'nonJson', times: 1 });
    const r = remember(await client.create(FIELDS));
    expect(r).toMatchObject({ ok: false, kind: 'retryable', status: 502 });
    const message = (r as { message: string }).message;
    expect(message).toBe('panel create: 502 Bad Gateway: 502 Bad Gateway 502 Bad Gateway nginx/1.24.0');
  });

  it('timeout: ambiguous for create, retryable for update', async () => {
    await client.create(FIELDS);
    sim.addFault({ mode: 'slowMs', ms: 400, times: 2 });
    const c = remember(await impatient.create(FIELDS));
    expect(c).toMatchObject({ ok: false, kind: 'ambiguous' });
    expect((c as { message: string }).message).toMatch(/^panel create: no answer after sending: timeout of 200ms exceeded .*may have created it/);
    const u = remember(await impatient.update(1, FIELDS));
    expect(u).toMatchObject({ ok: false, kind: 'retryable' });
  });

  it('panel down (connection refused) → retryable, nothing sent', async () => {
    await sim.down();
    try {
      for (const r of [await client.create(FIELDS), await client.update(1, FIELDS), await client.delete(1)]) {
        remember(r);
        expect(r).toMatchObject({ ok: false, kind: 'retryable' });
        expect((r as { message: string }).message).toContain('ECONNREFUSED');
      }
    } finally {
      await sim.up();
    }
  });

  it('a DNS failure → retryable', async () => {
    const nowhere = createPanelClient({ url: 'http://panel.does-not-exist.invalid', apiKey: API_KEY, timeoutMs: 2000, logger: log.logger });
    try {
      expect(kindOf(remember(await nowhere.create(FIELDS)))).toBe('retryable');
    } finally {
      nowhere.close();
    }
  });
});

describe('answers from something in front of the panel (fault "foreign") vs. the panel\'s own', () => {
  const json = 'application/json; charset=utf-8';
  const html = 'text/html';
  // [name, answer on update and delete (null: the panel itself), update kind, delete kind]
  const rows: [string, { status: number; body?: string; contentType?: string } | null, string, string][] = [
    ['the panel, success', null, 'ok', 'ok'],
    ['panel JSON 404', { status: 404, body: '{"error":"Not Found","message":"VPS not found"}', contentType: json }, 'not_found', 'not_found'],
    ['nginx HTML 404', { status: 404, body: '<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1></center><hr><center>nginx</center></body></html>', contentType: html }, 'retryable', 'retryable'],
    ["Go mux's text 404", { status: 404, body: '404 page not found\n', contentType: 'text/plain; charset=utf-8' }, 'retryable', 'retryable'],
    ['empty 404 (ingress without a rule)', { status: 404 }, 'retryable', 'retryable'],
    ['JSON 404 with neither error nor message', { status: 404, body: '{}', contentType: json }, 'retryable', 'retryable'],
    ['204, empty', { status: 204 }, 'ok', 'ok'],
    ['200, empty', { status: 200 }, 'ok', 'ok'],
    ['200 JSON success', { status: 200, body: '{"status":"success","message":"VPS synced successfully"}', contentType: json }, 'ok', 'ok'],
    ['200 SSO login page', { status: 200, body: '<!doctype html><html><head><title>Sign in</title></head><body><form>Login</form></body></html>', contentType: html }, 'retryable', 'retryable'],
    ['200 maintenance page', { status: 200, body: '<html><body>Down for maintenance</body></html>', contentType: html }, 'retryable', 'retryable'],
    ['200 {"status":"error"}', { status: 200, body: '{"status":"error","message":"VPS not found"}', contentType: json }, 'retryable', 'retryable'],
  ];

  it.each(rows)('%s', async (_name, answer, updateKind, deleteKind) => {
    await client.create(FIELDS);
    if (answer) sim.addFault({ mode: 'foreign', ...answer, action: 'update', times: 1 });
    const u = remember(await client.update(1, { ...FIELDS, status: 'stopped' }));
    expect(kindOf(u)).toBe(updateKind);
    if (answer) sim.addFault({ mode: 'foreign', ...answer, action: 'delete', times: 1 });
    const d = remember(await client.delete(1));
    expect(kindOf(d)).toBe(deleteKind);
    for (const r of [u, d]) {
      if (r.ok) continue;
      expect(r.status).toBe(answer!.status);
      expect(r.message).toMatch(new RegExp(`^panel (update|delete): ${answer!.status} `));
    }
    // A foreign answer never reached the panel: the VPS is as it was.
    expect(sim.table()).toHaveLength(answer ? 1 : 0);
  });
});

describe('the API key echoed back by a proxy', () => {
  // The echoed key starts at `offset` of the body's text, across the ~200-character excerpt's end.
  const echo = (offset: number, html: boolean) => {
    const text = `Upstream says: request headers follow ${'.'.repeat(offset - 52)} x-api-key: {{x-api-key}} user-agent: {{user-agent}} ${'.'.repeat(300)}`;
    return html ? `<html><body><pre>${text}</pre></body></html>` : text;
  };
  // [action, status, html body?, offset, expected kind]
  const rows: [('create' | 'update' | 'delete'), number, boolean, number, string][] = [
    ['update', 400, false, 180, 'rejected'],
    ['update', 404, false, 180, 'retryable'],
    ['delete', 404, true, 185, 'retryable'],
    ['update', 200, true, 180, 'retryable'],
    ['delete', 403, false, 190, 'unauthorized'],
    ['create', 200, false, 180, 'ambiguous'],
    ['create', 502, true, 175, 'retryable'],
    ['create', 500, false, 195, 'ambiguous'],
  ];

  it.each(rows)('%s %i (html: %s), key at offset %i → %s, and no 8 characters of the key anywhere', async (action, status, html, offset, kind) => {
    const body = echo(offset, html);
    const { logger, lines } = capturingLogger();
    const echoed = createPanelClient({ url, apiKey: API_KEY, timeoutMs: 2000, logger });
    try {
      sim.addFault({ mode: 'foreign', status, body, contentType: html ? 'text/html' : 'text/plain', times: 1 });
      const r = remember(action === 'create' ? await echoed.create(FIELDS) : action === 'update' ? await echoed.update(1, FIELDS) : await echoed.delete(1));
      expect(kindOf(r)).toBe(kind);
      const message = (r as { message: string }).message;
      // The key was in the excerpt: it shows as *** there, and nowhere in part.
      expect(message).toContain('x-api-key: ***');
      expect(leakedPart(message, API_KEY)).toBeNull();
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(leakedPart(line, API_KEY)).toBeNull();
    } finally {
      echoed.close();
    }
  });

  it('a key cut in two by the 1 MiB answer limit is redacted too', async () => {
    // Mostly tags, so the excerpt shows the text at the very end of what was kept: the cut key.
    const limit = 1_048_576;
    const head = '<html><body> x-api-key: ';
    const tag = `<i ${'x'.repeat(limit - 10 - head.length - 4)}>`;
    const body = `${head}${tag}{{x-api-key}}${'<i></i>'.repeat(1000)}</body></html>`;
    expect(body.indexOf('{{x-api-key}}')).toBe(limit - 10);
    sim.addFault({ mode: 'foreign', status: 400, body, contentType: 'text/html', times: 1 });
    const r = remember(await client.update(1, FIELDS));
    expect(r).toMatchObject({ ok: false, kind: 'rejected', message: 'panel update: 400 Bad Request: x-api-key: ***' });
  });
});

describe('AbortSignal', () => {
  it('an already aborted signal sends nothing → retryable', async () => {
    const r = remember(await client.create(FIELDS, AbortSignal.abort()));
    expect(r).toMatchObject({ ok: false, kind: 'retryable' });
    expect(sim.stats().total).toBe(0);
  });

  it('aborting after the request was sent: ambiguous for create, retryable for delete', async () => {
    sim.addFault({ mode: 'slowMs', ms: 300 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    expect(kindOf(remember(await client.create(FIELDS, controller.signal)))).toBe('ambiguous');
    const again = new AbortController();
    setTimeout(() => again.abort(), 100);
    expect(kindOf(remember(await client.delete(1, again.signal)))).toBe('retryable');
  });

  it('aborting a create still queued for a socket → retryable: it never left', async () => {
    const single = createPanelClient({ url, apiKey: API_KEY, timeoutMs: 5000, logger: log.logger, concurrency: 1 });
    try {
      sim.addFault({ mode: 'slowMs', ms: 300, times: 1 });
      const first = single.create(FIELDS);
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const queued = remember(await single.create({ ...FIELDS, name: 'queued' }, controller.signal));
      expect(queued).toMatchObject({ ok: false, kind: 'retryable' });
      expect((queued as { message: string }).message).toMatch(/^panel create: request not delivered: canceled/);
      expect((await first).ok).toBe(true);
      expect(sim.table().map((r) => r.name)).toEqual(['web-1']);
    } finally {
      single.close();
    }
  });
});
