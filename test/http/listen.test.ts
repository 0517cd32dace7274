import { describe, expect, it } from 'vitest';
import { DEFAULT_LISTEN, formatUrl, parseListen } from '../../src/http/index.js';

describe('parseListen', () => {
  it.each([
    [DEFAULT_LISTEN, '127.0.0.1', 9477],
    ['0.0.0.0:9477', '0.0.0.0', 9477],
    ['localhost:80', 'localhost', 80],
    ['[::1]:9477', '::1', 9477],
    ['[::]:0', '::', 0],
    [' 127.0.0.1:9477 ', '127.0.0.1', 9477],
  ])('parses %s', (input, host, port) => {
    expect(parseListen(input)).toEqual({ host, port });
  });

  it.each([
    ['', /is empty/],
    ['9477', /missing host or port/],
    [':9477', /missing host or port/],
    ['127.0.0.1:', /port "" is not a number/],
    ['127.0.0.1:http', /not a number/],
    ['127.0.0.1:70000', /out of range/],
    ['::1:9477', /brackets/],
    ['[::1]9477', /brackets/],
    ['[nope]:9477', /not an IPv6 address/],
  ])('rejects %j', (input, message) => {
    expect(() => parseListen(input)).toThrow(message);
  });

  it('formats URLs with IPv6 in brackets', () => {
    expect(formatUrl('::1', 9477)).toBe('http://[::1]:9477');
    expect(formatUrl('127.0.0.1', 9477)).toBe('http://127.0.0.1:9477');
  });
});
