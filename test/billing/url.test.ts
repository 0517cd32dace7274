// URL forms, target labels and scrubbing: the password must never leave this module unmasked.
import { describe, expect, it } from 'vitest';
import { createBillingSource, createThreadedBillingSource } from '../../src/billing/index.js';
import { builtInQuery, pickSsoColumn } from '../../src/billing/queries.js';
import { parseNetworkUrl, readNetworkUrl, sqlitePath, targetLabel, urlScrubber } from '../../src/billing/url.js';
import { createLogger } from '../../src/util/logger.js';

describe('parseNetworkUrl', () => {
  it('decodes credentials and fills default ports', () => {
    expect(parseNetworkUrl('mysql://sync:p%40ss%2Fw@db.example:3307/billing', 'mysql')).toEqual({
      host: 'db.example',
      port: 3307,
      user: 'sync',
      password: 'p@ss/w',
      database: 'billing',
    });
    expect(parseNetworkUrl('postgresql://sync@[::1]/shop', 'postgres')).toEqual({
      host: '::1',
      port: 5432,
      user: 'sync',
      password: undefined,
      database: 'shop',
    });
    expect(parseNetworkUrl('mariadb://h/db', 'mysql').port).toBe(3306);
  });

  it('refuses a URL for another driver, without showing the password', () => {
    expect(() => parseNetworkUrl('postgres://u:Secret123@h/db', 'mysql')).toThrow(
      'billing (postgres://u:***@h/db): billing.url: driver "mysql" needs mysql://user:pass@host:3306/db',
    );
    expect(() => parseNetworkUrl('/var/lib/billing.db', 'postgres')).toThrow(/not a URL/);
  });

  it('createBillingSource refuses the same, and opens nothing otherwise', () => {
    const logger = createLogger({ level: 'silent' });
    expect(() => createBillingSource({ driver: 'postgres', url: 'mysql://u:Secret123@h/db', timeoutMs: 1000 }, { logger })).toThrow(
      /^billing \(mysql:\/\/u:\*\*\*@h\/db\)/,
    );
    // A host that does not exist: nothing happens until listRecords.
    expect(() => createBillingSource({ driver: 'mysql', url: 'mysql://u:p@no-such-host.invalid/db', timeoutMs: 1000 }, { logger })).not.toThrow();
  });
});

describe('what the drivers get from an unusual but valid URL', () => {
  it.each([
    ["an unencoded '@' and ':' in the password (the last '@' ends it)", 'mysql://u:p@ss:w0rd@h/db', { user: 'u', password: 'p@ss:w0rd' }],
    ['an encoded % # ? /', 'mysql://u:50%25%23%3F%2F@h/db', { password: '50%#?/' }],
    ['a space in the password', 'postgres://u:two words@h/db', { password: 'two words' }],
    ['non-ASCII', 'postgres://u:пароль@h/база', { password: 'пароль', database: 'база' }],
    ['an upper-case scheme', 'MYSQL://u:pw@h/db', { host: 'h', password: 'pw' }],
  ])('%s', (_name, url, expected) => {
    expect(readNetworkUrl(url, url.toLowerCase().startsWith('mysql') ? 'mysql' : 'postgres')).toEqual({ target: expect.objectContaining(expected) });
  });
});

describe('a URL the drivers cannot use is refused naming billing.url, never quoting the password', () => {
  // [case, url, driver, the problem, the password]
  const refused: [string, string, 'mysql' | 'postgres', RegExp, string][] = [
    ["'#' in the password", 'mysql://sync:S3cr#tBillingPw@db.internal:3306/billing', 'mysql', /'#', '\?' or '\/' before its last '@'/, 'S3cr#tBillingPw'],
    ["'?' in the password", 'mysql://u:1234?xyzPw@db/b', 'mysql', /'#', '\?' or '\/' before its last '@'/, '1234?xyzPw'],
    ["'/' in the password", 'postgres://u:ab/cdPw99@db/shop', 'postgres', /'#', '\?' or '\/' before its last '@'/, 'ab/cdPw99'],
    ['a port typo', 'mysql://sync:billing-db-pass-9f8e7d@db.internal:33o6/billing', 'mysql', /has port "33o6"/, 'billing-db-pass-9f8e7d'],
    ['the host forgotten', 'mysql://sync:Pw-123456/db', 'mysql', /has a port that is not a number/, 'Pw-123456'],
    ["a literal '%' in the password", 'postgres://sync:50%off-Pass@127.0.0.1:1/billing', 'postgres', /the password has a '%' .*%25/, '50%off-Pass'],
    ["a '%' that decodes to invalid UTF-8", 'postgres://sync:Pw-1%C3@h/db', 'postgres', /the password has a '%'/, 'Pw-1'],
    ["a literal '%' in the database name", 'postgres://sync:Pw-123456@h/50%off', 'postgres', /the database name has a '%'/, 'Pw-123456'],
    ['sslmode=require', 'postgres://sync:Pw-123456@h/db?sslmode=require', 'postgres', /URL parameters .*billing\.tls\.enabled/, 'Pw-123456'],
    ['a password as a parameter', 'postgres://h/db?password=Qw3rty-Pw', 'postgres', /URL parameters/, 'Qw3rty-Pw'],
    ['a line break', 'mysql://sync:Pw\n123456@h/db', 'mysql', /control character/, '123456'],
    ['another driver', 'postgres://u:Secret123@h/db', 'mysql', /driver "mysql" needs/, 'Secret123'],
  ];
  it.each(refused)('%s', (_name, url, driver, pattern, password) => {
    let message = '';
    try {
      parseNetworkUrl(url, driver);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^billing \([a-z]+:\/\/[^)]*\): billing\.url: /);
    expect(message).toMatch(pattern);
    expect(message).not.toContain(password);
  });

  it('the threaded source (what `run` and `once` start) refuses the same way', () => {
    const logger = createLogger({ level: 'silent' });
    const url = 'mysql://sync:billing-db-pass-9f8e7d@db.internal:33o6/billing';
    expect(() => createThreadedBillingSource({ driver: 'mysql', url, timeoutMs: 1000 }, { logger })).toThrow(
      'billing (mysql://sync:***@db.internal:33o6/billing): billing.url: has port "33o6", which is not a number from 0 to 65535',
    );
  });
});

describe('sqlitePath', () => {
  it.each([
    ['/var/lib/billing.db', '/var/lib/billing.db'],
    ['./billing.db', './billing.db'],
    ['sqlite:/var/lib/billing.db', '/var/lib/billing.db'],
    ['sqlite:///var/lib/billing.db', '/var/lib/billing.db'],
    ['file:/var/lib/billing.db', '/var/lib/billing.db'],
    ['file:///var/lib/billing%20copy.db', '/var/lib/billing copy.db'],
  ])('%s', (url, path) => expect(sqlitePath(url)).toBe(path));
});

describe('targetLabel and urlScrubber', () => {
  it('masks the password in the label', () => {
    expect(targetLabel({ driver: 'mysql', url: 'mysql://root:hunter22@127.0.0.1:3306/test' })).toBe('mysql://root:***@127.0.0.1:3306/test');
    expect(targetLabel({ driver: 'sqlite', url: 'file:/srv/b.db' })).toBe('/srv/b.db');
  });

  it('removes the URL and the password, raw or decoded, from driver text', () => {
    const url = 'postgres://sync:p%40ssw0rd@db:5432/shop';
    const scrub = urlScrubber(url);
    expect(scrub(`cannot connect to ${url}`)).toBe('cannot connect to postgres://sync:***@db:5432/shop');
    expect(scrub('password "p@ssw0rd" rejected')).toBe('password "***" rejected');
    expect(scrub('password p%40ssw0rd rejected')).toBe('password *** rejected');
  });

  it.each([
    ["'#' in the password (URL cannot parse it)", 'mysql://sync:S3cr#tBillingPw@db:3306/shop', 'S3cr#tBillingPw'],
    ["a literal '%' (cannot be decoded)", 'postgres://sync:50%off-Pass@db/shop', '50%off-Pass'],
  ])('removes the password of a URL that is not valid: %s', (_name, url, password) => {
    const scrub = urlScrubber(url);
    expect(scrub(`cannot connect to ${url}: password ${password} refused`)).toBe(`cannot connect to ${url.replace(password, '***')}: password *** refused`);
  });

  it('masks a very short password only as a whole word, so messages stay readable', () => {
    const scrub = urlScrubber('mysql://u:ab@h/db');
    expect(scrub('tab ab lab')).toBe('tab *** lab');
  });
});

describe('built-in query', () => {
  it('takes user_id from server.userId, or from the SSO column when there is one', () => {
    expect(builtInQuery('mysql', null)).toContain('s.`userId` AS user_id');
    expect(builtInQuery('mysql', null)).not.toContain('JOIN `user`');
    expect(builtInQuery('postgres', 'ssoId')).toContain('u."ssoId" AS user_id');
    expect(builtInQuery('postgres', 'ssoId')).toContain('LEFT JOIN "user" u ON u."id" = s."userId"');
    expect(builtInQuery('sqlite', null)).toContain('WHERE s."proxmoxId" IS NOT NULL');
  });

  it('prefers ssoId over sso_id', () => {
    expect(pickSsoColumn([['sso_id'], ['ssoId']])).toBe('ssoId');
    expect(pickSsoColumn([['SSO_ID']])).toBe('SSO_ID');
    expect(pickSsoColumn([])).toBeNull();
  });
});
