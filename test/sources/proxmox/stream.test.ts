// The incremental reader of the guest list must give exactly what JSON.parse of the whole body
// gives — the same elements, or the same error message with the same position — whatever the
// body and however it is cut into chunks and batches.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GuestListStream, type BodyOutcome } from '../../../src/sources/proxmox/stream.js';

type Parsed = { ok: true; data: unknown } | { ok: false; message: string };

/** What the old path got from a body: JSON.parse of the decoded text (BOM dropped), then `.data`. */
function whole(body: Buffer): Parsed {
  let text = body.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    const value = JSON.parse(text) as unknown;
    return { ok: true, data: (value as { data?: unknown } | null)?.data };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}

/** Feeds `body` in chunks of the given sizes (cycled) to a reader with the given batch size. */
function streamed(body: Buffer, sizes: readonly number[], batchBytes: number): { parsed: Parsed; outcome: BodyOutcome; batches: number } {
  const got: unknown[] = [];
  let batches = 0;
  const reader = new GuestListStream(
    (entries) => {
      batches++;
      for (const e of entries) got.push(e);
    },
    batchBytes,
    body.length,
  );
  let at = 0;
  for (let i = 0; at < body.length; i++) {
    const n = sizes[i % sizes.length]!;
    // A fresh copy, like a socket's chunk (the reader must not keep a view of it).
    reader.push(Uint8Array.from(body.subarray(at, at + n)));
    at += n;
  }
  const outcome = reader.end();
  switch (outcome.kind) {
    case 'streamed':
      return { parsed: { ok: true, data: got }, outcome, batches };
    case 'whole':
      return { parsed: whole(outcome.body), outcome, batches };
    case 'value':
      return { parsed: { ok: true, data: (outcome.value as { data?: unknown } | null)?.data }, outcome, batches };
    case 'invalid':
      return { parsed: { ok: false, message: outcome.error.message }, outcome, batches };
  }
}

const NASTY = ['},{', '"},{"', '\\', '\\"', '\\"},{\\"', ']}', '{"data":[', 'é', 'сервер', '中文', '😀', '𝄞x', '\u2028', '\u0000', '\\u0041', '"', '},{"vmid":1}'];
const nastyString = fc.oneof(
  fc.constantFrom(...NASTY),
  fc.array(fc.constantFrom(...NASTY, 'a', ' ', ','), { maxLength: 6 }).map((parts) => parts.join('')),
  fc.string({ unit: 'binary', maxLength: 12 }),
);
const guest = fc.record(
  {
    vmid: fc.integer({ min: 100, max: 999_999 }),
    type: fc.constantFrom('qemu', 'lxc'),
    node: fc.constantFrom('pve1', 'pve2', 'ünode'),
    name: nastyString,
    status: fc.constantFrom('running', 'stopped', 'paused'),
    template: fc.constantFrom(0, 1),
    maxcpu: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.double({ noNaN: true, noDefaultInfinity: true })),
    maxmem: fc.integer({ min: 1, max: 2 ** 40 }),
    maxdisk: fc.integer({ min: 0, max: 2 ** 45 }),
    tags: nastyString,
  },
  { requiredKeys: ['vmid', 'name'] },
);
const element = fc.oneof({ weight: 6, arbitrary: guest }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) });
const entries = fc.array(element, { maxLength: 60 });

/** Serialisations of `{data}`: compact (what Proxmox sends) and the shapes it does not send. */
const SHAPES = ['compact', 'compact', 'compact', 'pretty', 'spaced', 'keyAfter', 'keyBefore', 'dataTwice', 'bom', 'trailingSpace'] as const;
function serialise(data: unknown[], shape: (typeof SHAPES)[number]): string {
  const compact = JSON.stringify({ data });
  switch (shape) {
    case 'compact':
      return compact;
    case 'pretty':
      return JSON.stringify({ data }, null, 2);
    case 'spaced':
      return `{"data":[${data.map((e) => JSON.stringify(e)).join(' ,\n ')}]}`;
    case 'keyAfter':
      return `{"data":${JSON.stringify(data)},"total":${data.length}}`;
    case 'keyBefore':
      return `{"total":${data.length},"data":${JSON.stringify(data)}}`;
    case 'dataTwice':
      return `{"data":${JSON.stringify(data)},"data":${JSON.stringify(data.slice(1))}}`;
    case 'bom':
      return `\ufeff${compact}`;
    case 'trailingSpace':
      return `${compact} \r\n\t`;
  }
}

/** One damage to the bytes, or none. */
const damage = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  {
    weight: 4,
    arbitrary: fc.record({
      at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
      op: fc.constantFrom('truncate', 'insert', 'delete', 'replace'),
      byte: fc.constantFrom(0x22, 0x5c, 0x2c, 0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x78, 0x20, 0x0a, 0x00, 0xff, 0xc3, 0xf0, 0x31, 0x2d, 0x65),
    }),
  },
);
function damaged(body: Buffer, d: { at: number; op: string; byte: number } | undefined): Buffer {
  if (!d) return body;
  const i = Math.floor(d.at * body.length);
  switch (d.op) {
    case 'truncate':
      return body.subarray(0, i);
    case 'insert':
      return Buffer.concat([body.subarray(0, i), Buffer.from([d.byte]), body.subarray(i)]);
    case 'delete':
      return Buffer.concat([body.subarray(0, i), body.subarray(i + 1)]);
    default: {
      const copy = Buffer.from(body);
      if (i < copy.length) copy[i] = d.byte;
      return copy;
    }
  }
}

const chunkSizes = fc.oneof(fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 4 }));

describe('GuestListStream agrees with JSON.parse of the whole body', () => {
  it('for random listings, shapes, damage, chunkings and batch sizes', () => {
    fc.assert(
      fc.property(entries, fc.constantFrom(...SHAPES), damage, chunkSizes, fc.integer({ min: 1, max: 400 }), (data, shape, d, sizes, batch) => {
        const body = damaged(Buffer.from(serialise(data, shape)), d);
        expect(streamed(body, sizes, batch).parsed).toEqual(whole(body));
      }),
      // PROPERTY_RUNS=50000 for a longer hunt.
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 3000) },
    );
  });

  it('streams the compact shape in many batches (nothing kept whole)', () => {
    fc.assert(
      fc.property(fc.array(guest, { minLength: 20, maxLength: 60 }), chunkSizes, (data, sizes) => {
        const body = Buffer.from(JSON.stringify({ data }));
        const r = streamed(body, sizes, 64);
        expect(r.outcome.kind).toBe('streamed');
        expect(r.batches).toBeGreaterThan(3);
        expect(r.parsed).toEqual(whole(body));
      }),
      { numRuns: 300 },
    );
  });

  it('places an error after dropped batches exactly where JSON.parse of the whole body does', () => {
    const data = Array.from({ length: 400 }, (_, i) => ({ vmid: 100 + i, name: `vm-${i} ü 😀 },{ \\ "`, node: 'pve1' }));
    const good = JSON.stringify({ data });
    const cases = [
      good.slice(0, Math.floor(good.length / 2)) + '}{<html>proxy error', // the simulator's badJson
      good.slice(0, -1), // the closing brace missing
      good + 'x',
      good.slice(0, -2) + ',]}',
      good.slice(0, 20_000) + '\u0001' + good.slice(20_000),
      good.replace('"vm-300', '"vm-300\n'),
      good.replace('{"vmid":350', '{"vmid":35 0'),
      good.replace('"name":"vm-390', '"name"x"vm-390'),
      good.slice(0, -2) + '],"data":null}',
      good.slice(0, -2) + '],"data":{"a":1}}',
      good.slice(0, -2) + '],"count":400}',
    ];
    for (const text of cases) {
      const body = Buffer.from(text);
      const expected = whole(body);
      for (const batch of [1, 100, 4096]) {
        const r = streamed(body, [3, 5, 7, 1000], batch);
        expect(r.parsed).toEqual(expected);
        expect(r.outcome.kind).not.toBe('whole'); // the start was streamed, the rest translated
      }
    }
  });

  it('moves "(line L column C)" too, as newer V8 versions add it to the position', () => {
    // V8's rule: \r, \n and \r\n each end a line; the column counts from the last line end.
    const location = (text: string, pos: number) => {
      let line = 1;
      let after = 0;
      for (let k = 0; k < pos; k++) {
        if (text[k] === '\r' && k < pos - 1 && text[k + 1] === '\n') k++;
        if (text[k] === '\r' || text[k] === '\n') {
          line++;
          after = k + 1;
        }
      }
      return `(line ${line} column ${pos - after + 1})`;
    };
    const real = JSON.parse;
    JSON.parse = ((text: string, reviver?: Parameters<typeof JSON.parse>[1]) => {
      try {
        return real(text, reviver) as unknown;
      } catch (err) {
        const m = / at position (\d+)$/.exec((err as Error).message);
        throw m ? new SyntaxError(`${(err as Error).message} ${location(text, Number(m[1]))}`) : err;
      }
    }) as typeof JSON.parse;
    let located = 0;
    try {
      const data = Array.from({ length: 300 }, (_, i) => ({ vmid: 100 + i, name: `vm-${i} 😀`, node: 'pve1' }));
      for (const sep of [',', ',\n', ' ,\r\n  ', '\r,\r']) {
        const good = `{"data":[${data.map((e) => JSON.stringify(e)).join(sep)}]}`;
        for (const text of [good + '\nx', good.slice(0, -2) + sep + ']}', good.replace('"vm-290', '"vm-290\u0001'), good.slice(0, -2) + ']\r\n\r\n}x']) {
          const body = Buffer.from(text);
          const expected = whole(body);
          if (!expected.ok && /\(line \d+ column \d+\)$/.test(expected.message)) located++;
          for (const batch of [1, 50, 2000]) expect(streamed(body, [3, 100, 7], batch).parsed).toEqual(expected);
        }
      }
    } finally {
      JSON.parse = real;
    }
    expect(located).toBeGreaterThanOrEqual(8);
  });

  it('keeps a body of another shape whole and untouched', () => {
    for (const text of ['', '{', 'null', '{"data":null}', ' {"data":[]}', '\ufeff{"data":[1]}', '{"total":1,"data":[1]}', '<html>']) {
      const body = Buffer.from(text);
      const r = streamed(body, [2], 1);
      expect(r.outcome).toEqual({ kind: 'whole', body });
    }
  });
});
