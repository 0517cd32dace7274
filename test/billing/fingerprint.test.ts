// The fingerprint the billing thread uses to tell "the same row as last pass" and "the same
// record": a missed difference would keep a stale billing record, so every kind of difference a
// driver can hand back must change it, and equal input must give equal fingerprints.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Fingerprint, printRow } from '../../src/billing/fingerprint.js';

/** Each row's fingerprint, as the billing thread compares them (row by row, in order). */
const printsOf = (rows: unknown[][]): [number, number][] =>
  rows.map((row) => {
    const print = printRow(new Fingerprint(), row);
    return [print.a, print.b];
  });
const samePrints = (x: unknown[][], y: unknown[][]): boolean => JSON.stringify(printsOf(x)) === JSON.stringify(printsOf(y));

describe('fingerprint of billing rows', () => {
  it('is the same for the same rows', () => {
    const rows = [[1, 'Debian 12', null, 5n, Buffer.from('ab')]];
    expect(samePrints(rows, structuredClone(rows).map((r) => [...r.slice(0, 4), Buffer.from('ab')]))).toBe(true);
  });

  // Each pair differs in one way a driver could hand back; each must change the digest.
  const pairs: [string, unknown[][], unknown[][]][] = [
    ['number vs the same digits as text', [[1]], [['1']]],
    ['number vs bigint', [[1]], [[1n]]],
    ['null vs the text "null"', [[null]], [['null']]],
    ['null vs empty text', [[null]], [['']]],
    ['true vs 1', [[true]], [[1]]],
    ['bytes vs the same text', [[Buffer.from('ab')]], [['ab']]],
    ['a date vs its time as a number', [[new Date(0)]], [[0]]],
    ['0 vs -0', [[0]], [[-0]]],
    ['one more row', [[1]], [[1], [1]]],
    ['a value moved to the next row', [[1, 2], [3]], [[1], [2, 3]]],
    ['rows swapped', [[1], [2]], [[2], [1]]],
    ['one character of a name', [['Сервер-1']], [['Сервер-2']]],
    ['a Cyrillic letter vs its Latin look-alike', [['Сервер']], [['Cервер']]],
    ['text split differently between two columns', [['ab', 'c']], [['a', 'bc']]],
    ['an object value', [[{ a: 1 }]], [[{ a: 2 }]]],
  ];
  it.each(pairs)('changes with %s', (_, x, y) => {
    expect(samePrints(x, y)).toBe(false);
  });

  it('tells random different rows apart and gives equal rows equal digests (fast-check)', () => {
    const value = fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.boolean(), fc.bigInt({ min: -1000n, max: 1000n }));
    fc.assert(
      fc.property(fc.array(fc.array(value, { maxLength: 4 }), { maxLength: 5 }), fc.array(fc.array(value, { maxLength: 4 }), { maxLength: 5 }), (x, y) => {
        const equal = JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) === JSON.stringify(y, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) && x.every((r, i) => r.every((v, j) => typeof v === typeof y[i]![j]));
        expect(samePrints(x, y)).toBe(equal);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives two 53-bit halves that are exact doubles', () => {
    const print = new Fingerprint().text('x').number(42).end();
    for (const half of [print.a, print.b]) {
      expect(Number.isSafeInteger(half)).toBe(true);
      expect(half).toBeGreaterThanOrEqual(0);
    }
    expect(new Fingerprint().reset().text('x').number(42).end().a).toBe(print.a);
  });
});
