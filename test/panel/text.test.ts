// Secret scrubbing and excerpts: a secret must be gone before anything cuts the text it is in.
import { describe, expect, it } from 'vitest';
import { excerpt, scrub } from '../../src/panel/text.js';
import { leakedPart } from './helpers.js';

const KEY = 'k7Qw2Zp9Lr4Tx8Vb3Nm6Hc1Jd5Fg0Sa2Ye7Ui4Ko9Pl';
const OTHER = 'second-secret-0123456789';

describe('scrub', () => {
  // [name, text, secrets, cut, expected]
  const rows: [string, string, string[], boolean, string][] = [
    ['no secret', 'plain text', [KEY], false, 'plain text'],
    ['one occurrence', `x-api-key: ${KEY}.`, [KEY], false, 'x-api-key: ***.'],
    ['several occurrences', `${KEY}|${KEY}`, [KEY], false, '***|***'],
    ['several secrets', `a=${KEY} b=${OTHER}`, [KEY, OTHER], false, 'a=*** b=***'],
    ['an empty secret is ignored', 'abc', [''], false, 'abc'],
    ['a head left at the end of a cut text', `x-api-key: ${KEY.slice(0, 20)}`, [KEY], true, 'x-api-key: ***'],
    ['a one-character head at the end of a cut text', `key: ${KEY.slice(0, 1)}`, [KEY], true, 'key: ***'],
    ['a whole secret and a head at the end of a cut text', `${KEY} ${KEY.slice(0, 9)}`, [KEY], true, '*** ***'],
    ['an uncut text keeps its tail', `ends with ${KEY.slice(0, 20)}`, [KEY], false, `ends with ${KEY.slice(0, 20)}`],
  ];
  it.each(rows)('%s', (_name, text, secrets, cut, expected) => {
    expect(scrub(text, secrets, cut)).toBe(expected);
  });
});

describe('scrub, then excerpt', () => {
  it.each([150, 180, 190, 198, 199, 200, 220])('a key at offset %i of a long body never shows, even in part', (offset) => {
    const body = `${'.'.repeat(offset)}${KEY}${'.'.repeat(400)}`;
    const shown = excerpt(scrub(body, [KEY]));
    expect(leakedPart(shown, KEY)).toBeNull();
    expect(shown.length).toBeLessThanOrEqual(200);
  });

  it('the other order leaks part of the key (why the client scrubs first)', () => {
    const body = `${'.'.repeat(180)}${KEY}`;
    expect(leakedPart(scrub(excerpt(body), [KEY]), KEY)).not.toBeNull();
  });
});
