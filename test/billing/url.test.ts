// URL forms, target labels and scrubbing: the password must never leave this module unmasked.
import { describe, expect, it } from 'vitest';
import { createBillingSource } from '../../src/billing/index.js';
import { builtInQuery, pickSsoColumn } from '../../src/billing/queries.js';
import { parseNetworkUrl, sqlitePath, targetLabel, urlScrubber } from '../../src/billing/url.js';
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
      'billing (postgres://u:***@h/db): driver "mysql" needs mysql://user:pass@host:3306/db',
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
