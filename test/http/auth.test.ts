import { describe, expect, it } from 'vitest';
import { checkBearer } from '../../src/http/index.js';

const TOKEN = 'an-admin-token-of-32-characters!';

describe('checkBearer', () => {
  it.each([
    [`Bearer ${TOKEN}`, TOKEN, 'ok'],
    [`bearer  ${TOKEN} `, TOKEN, 'ok'],
    [undefined, TOKEN, 'missing'],
    ['', TOKEN, 'missing'],
    [`Basic ${TOKEN}`, TOKEN, 'missing'],
    ['Bearer', TOKEN, 'missing'],
    ['Bearer short', TOKEN, 'wrong'],
    [`Bearer ${TOKEN}${TOKEN}`, TOKEN, 'wrong'],
    [`Bearer ${TOKEN}`, undefined, 'disabled'],
    [`Bearer ${TOKEN}`, '', 'disabled'],
  ] as const)('%j against the token → %s', (header, token, expected) => {
    expect(checkBearer(header, token)).toBe(expected);
  });
});
