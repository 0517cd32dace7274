// The guest list is validated and mapped while it arrives: over real HTTP, in one write or in
// tiny odd-sized chunks, a 20,000-guest listing gives exactly what the whole-body listing gave,
// and bodies that are cut short, stall, or are not the usual shape fail or succeed as before.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createProxmoxSource, SourceError } from '../../../src/sources/proxmox/index.js';
import { ProxmoxClient } from '../../../src/sources/proxmox/client.js';
import { ListingBuilder } from '../../../src/sources/proxmox/listing.js';
import { failure, never } from './helpers.js';
import { bigGuestList, BodyServer, wholeBodyOutcome, type Outcome } from './streaming-fixture.js';

const GUESTS = 20_000;
let server: BodyServer;
let entries: Record<string, unknown>[];
let body: Buffer;

beforeAll(async () => {
  server = await new BodyServer().start();
  entries = bigGuestList(GUESTS);
  body = Buffer.from(JSON.stringify({ data: entries }));
});
afterAll(async () => {
  await server.stop();
});
beforeEach(() => {
  server.body = body;
  server.delivery = { kind: 'oneGo' };
  server.contentType = 'application/json;charset=UTF-8';
  server.requests = 0;
});

async function outcome(overrides: Record<string, unknown> = {}): Promise<Outcome> {
  const source = server.source(overrides);
  try {
    const { vms, rejected } = await source.listVms(never());
    return { ok: true, vms, rejected };
  } catch (err) {
    expect(err).toBeInstanceOf(SourceError);
    return { ok: false, message: (err as Error).message };
  } finally {
    await source.close();
  }
}

const FILTERED = { include: { nodes: ['pve1', 'pve2', 'pve3'] }, exclude: { tags: ['k8s'] } };

describe('proxmox listing read as it arrives', () => {
  it('the test listing has every kind of entry', () => {
    const reference = wholeBodyOutcome(body, server.config(FILTERED));
    const plain = wholeBodyOutcome(body, server.config());
    expect(body.length).toBeGreaterThan(5_000_000);
    expect(entries.filter((e) => e?.template === 1).length).toBeGreaterThan(100);
    expect(body.toString('utf8')).toMatch(/😀/);
    if (!reference.ok || !plain.ok) throw new Error('reference failed');
    expect(plain.vms.length - reference.vms.length).toBeGreaterThan(1000); // filtered out
    expect(plain.rejected.filter((r) => r.problem.startsWith('duplicate vmid')).length).toBeGreaterThanOrEqual(9);
    expect(plain.rejected.length).toBeGreaterThanOrEqual(9 + 12 + 2);
    expect(plain.vms.filter((v) => v.name.includes('},{')).length).toBeGreaterThan(10);
  });

  it.each([
    { name: 'written in one go', delivery: { kind: 'oneGo' as const }, overrides: {} },
    { name: 'written in one go, filtered', delivery: { kind: 'oneGo' as const }, overrides: FILTERED },
    { name: 'dribbled in 1–7 byte chunks between odd-sized ones, filtered', delivery: { kind: 'dribble' as const, seed: 3, maxBig: 60_000 }, overrides: FILTERED },
  ])('20,000 guests $name: exactly the whole-body result', async ({ delivery, overrides }) => {
    server.delivery = delivery;
    const got = await outcome(overrides);
    expect(got).toEqual(wholeBodyOutcome(body, server.config(overrides)));
    expect(server.requests).toBe(1);
  });

  it('hands the list on in batches of about 48 KiB, never the whole list at once', async () => {
    const sizes: number[] = [];
    class Spy extends ListingBuilder {
      override addBatch(batch: readonly unknown[]): void {
        sizes.push(batch.length);
        super.addBatch(batch);
      }
    }
    for (const delivery of [{ kind: 'oneGo' as const }, { kind: 'dribble' as const, seed: 9, maxBig: 200_000 }]) {
      sizes.length = 0;
      server.delivery = delivery;
      const client = new ProxmoxClient(server.config());
      const builder = await client.listGuests(never(), () => new Spy('pve1'));
      await client.close();
      expect(builder.entries).toBe(entries.length);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(entries.length);
      // ~330 bytes per entry: ~150 entries per 48 KiB batch.
      expect(sizes.length).toBeGreaterThan(body.length / (64 * 1024));
      expect(Math.max(...sizes)).toBeLessThan(300);
    }
  });

  it('a small batch size gives the same result (many more cuts)', async () => {
    server.delivery = { kind: 'dribble', seed: 5, maxBig: 100_000 };
    const client = new ProxmoxClient(server.config(), undefined, { batchBytes: 1000 });
    const builder = await client.listGuests(never(), () => new ListingBuilder('pve1'));
    await client.close();
    const reference = wholeBodyOutcome(body, server.config());
    expect({ ok: true, vms: builder.vms, rejected: builder.rejected }).toEqual(reference);
  });

  it('an error of our own while mapping is reported as itself, not as a truncated answer', async () => {
    class Broken extends ListingBuilder {
      override addBatch(): void {
        throw new Error('mapping bug');
      }
    }
    const client = new ProxmoxClient(server.config());
    const err = await failure(() => client.listGuests(never(), () => new Broken('pve1')));
    await client.close();
    expect(err).toBeInstanceOf(SourceError);
    expect(err.message).toBe('proxmox pve1: mapping bug');
  });

  it('logs the same debug line (entries counted as they arrive)', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        done();
      },
    });
    const source = createProxmoxSource(server.config(FILTERED), { logger: pino({ level: 'debug' }, sink) });
    const { vms, rejected } = await source.listVms(never());
    await source.close();
    const line = lines.find((l) => l.msg === 'proxmox listing done')!;
    expect(line).toMatchObject({ source: 'pve1', entries: entries.length, vms: vms.length, rejected: rejected.length });
    expect(line.templates as number).toBeGreaterThan(100);
    expect(line.filteredOut as number).toBeGreaterThan(1000);
  });

  it('a body cut short halfway (after several batches) fails as truncated, after the one retry', async () => {
    const sent = Math.floor(body.length * 0.6) + 1;
    server.delivery = { kind: 'truncate', bytes: sent };
    const got = await outcome();
    expect(got).toEqual({ ok: false, message: `proxmox pve1: answer truncated: connection closed after ${sent} of ${body.length} bytes` });
    expect(server.requests).toBe(2);
  });

  it('a body that stalls halfway is covered by the timeout', async () => {
    const sent = Math.floor(body.length * 0.4) + 3;
    server.delivery = { kind: 'stall', bytes: sent };
    const started = Date.now();
    const got = await outcome({ timeoutMs: 700 });
    expect(got).toEqual({ ok: false, message: `proxmox pve1: timed out after 700 ms reading the answer (${sent} bytes received)` });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("the caller's abort halfway through the body ends the listing", async () => {
    server.delivery = { kind: 'stall', bytes: Math.floor(body.length / 2) };
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error('pass deadline')), 300);
    const source = server.source();
    const err = await failure(() => source.listVms(ctl.signal));
    await source.close();
    expect(err.reason).toBe('aborted');
    expect(err.message).toBe('proxmox pve1: listing aborted (pass deadline)');
  });

  // Shapes Proxmox does not send: each must give exactly what the whole-body listing gave.
  const half = (b: string) => b.slice(0, Math.floor(b.length / 2));
  const insertAt = (b: string, i: number, what: string) => b.slice(0, i) + what + b.slice(i);
  const shapes: { name: string; text: () => string; dribble?: boolean }[] = [
    { name: 'pretty-printed', text: () => JSON.stringify({ data: entries }, null, 2) },
    { name: 'spaces between elements', text: () => `{"data":[${entries.map((e) => JSON.stringify(e)).join(', ')}]}` },
    { name: 'another key first', text: () => `{"total":${entries.length},"data":${JSON.stringify(entries)}}` },
    { name: 'another key after the list', text: () => `{"data":${JSON.stringify(entries)},"total":${entries.length}}` },
    { name: 'a byte-order mark', text: () => `\ufeff${body.toString('utf8')}` },
    { name: 'a byte-order mark and "data": null', text: () => '\ufeff{"data":null}' },
    { name: 'trailing whitespace', text: () => `${body.toString('utf8')}\n\n` },
    { name: 'a second "data" key that is null', text: () => `${body.toString('utf8').slice(0, -1)},"data":null}`, dribble: true },
    { name: 'a second "data" key with a short list', text: () => `${body.toString('utf8').slice(0, -1)},"data":${JSON.stringify(entries.slice(0, 50))}}` },
    { name: 'a second "data" key that is a number', text: () => `${body.toString('utf8').slice(0, -1)},"data":5}` },
    { name: 'proxy garbage halfway', text: () => `${half(body.toString('utf8'))}}{<html>proxy error`, dribble: true },
    { name: 'a control character in the last name', text: () => insertAt(body.toString('utf8'), body.toString('utf8').lastIndexOf('"name":"') + 8, '\u0007') },
    { name: 'garbage after the envelope', text: () => `${body.toString('utf8')}x` },
    { name: 'a trailing comma in the list', text: () => `${body.toString('utf8').slice(0, -2)},]}` },
    { name: 'the list not closed', text: () => body.toString('utf8').slice(0, -2) },
    { name: '"data": null', text: () => '{"data":null}' },
    { name: '"data" an object', text: () => '{"data":{"vmid":100}}' },
    { name: 'not JSON at all', text: () => '<html>login</html>' },
    { name: 'null', text: () => 'null' },
    { name: 'empty', text: () => '' },
  ];
  it.each(shapes)('$name: as before', async ({ text, dribble }) => {
    const b = Buffer.from(text());
    server.body = b;
    server.delivery = dribble ? { kind: 'dribble', seed: 1, maxBig: 150_000 } : { kind: 'oneGo' };
    expect(await outcome()).toEqual(wholeBodyOutcome(b, server.config()));
  });

  it('a body of another shape streamed after all keeps its multi-byte characters split across chunks', async () => {
    // Names made only of 4-byte characters: chunk boundaries fall inside them.
    const list = entries.slice(0, 3000).map((e, i) => (e && typeof e === 'object' ? { ...e, name: `${'𝄞😀'.repeat(1 + (i % 5))}` } : e));
    const b = Buffer.from(JSON.stringify({ data: list }));
    server.body = b;
    server.delivery = { kind: 'dribble', seed: 2, maxBig: 9_999 };
    const got = await outcome();
    expect(got).toEqual(wholeBodyOutcome(b, server.config()));
    expect(got.ok && got.vms.some((v) => v.name === '𝄞😀𝄞😀')).toBe(true);
  });
});
