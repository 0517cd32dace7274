import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, ConfigValueError, loadConfig, readCaFile, resolveConfigPath, sourceSecretEnvName } from '../../src/config/load.js';
import { caFilesOf, checkCaFiles } from '../../src/config/ca-files.js';
import { redactConfig, redactUrl, scrub, secretValues } from '../../src/config/redact.js';
import type { Config } from '../../src/config/schema.js';

const KEY = 'k'.repeat(40);
const SECRET = '0b9f5a2e-3c1d-4e8f-9a7b-1c2d3e4f5a6b';
const dir = mkdtempSync(join(tmpdir(), 'vps-sync-config-'));

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const VALID = `
stateFile: /tmp/state.db
schedule: "*/1 * * * *"
panel: { url: https://panel.example, apiKey: "${KEY}" }
sources:
  - { name: pve1, type: proxmox, url: "https://10.0.0.2:8006", tokenId: "sync@pve!daemon", tokenSecret: "${SECRET}" }
billing: { driver: mysql, url: "mysql://sync:hunter2hunter2@db:3306/billing" }
`;

function problems(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    loadConfig({ path: write(`c${Math.random()}.yaml`, text), env });
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe('config', () => {
  it('loads YAML with defaults applied', () => {
    const { config } = loadConfig({ path: write('ok.yaml', VALID), env: {} });
    expect(config.panel).toMatchObject({ timeoutMs: 10000, concurrency: 8 });
    expect(config.sources[0]).toMatchObject({ tls: { insecure: false }, timeoutMs: 15000 });
    expect(config.guards).toEqual({ missingPassesBeforeDelete: 3, maxDeletesPerPass: 20, maxDeleteFraction: 0.1 });
    expect(config.http.listen).toBe('127.0.0.1:9477');
  });

  it('JSON is valid YAML', () => {
    const json = JSON.stringify({
      panel: { url: 'http://127.0.0.1:5050', apiKey: KEY },
      sources: [{ name: 'pve1', type: 'proxmox', url: 'https://h:8006', tokenId: 'a@pve!b', tokenSecret: SECRET }],
      billing: { driver: 'sqlite', url: '/var/lib/billing.db' },
    });
    expect(loadConfig({ path: write('c.json', json), env: {} }).config.billing.driver).toBe('sqlite');
  });

  it('reports every problem at once, each with its path', () => {
    const found = problems(`
schedule: "every minute"
panel: { url: "ftp://x", apiKey: short }
sources:
  - { name: pve1, type: proxmox, url: "https://h:8006", tokenId: nope, tokenSecret: "not-a-uuid", colour: red }
  - { name: pve1, type: xen }
billing: { driver: oracle, url: x }
`);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^schedule: is not a valid cron pattern/),
        expect.stringMatching(/^panel\.url: must be an http/),
        expect.stringMatching(/^panel\.apiKey: must be at least 32 characters/),
        expect.stringMatching(/^sources\[0\]\.tokenId: must look like USER@REALM!TOKENID/),
        expect.stringMatching(/^sources\[0\]\.tokenSecret: must be the token secret/),
        expect.stringMatching(/^sources\[0\]: unknown key "colour"/),
        expect.stringMatching(/^sources\[1\]\.type/),
        expect.stringMatching(/^billing\.driver/),
      ]),
    );
  });

  it.each([
    ['missing panel', VALID.replace(/panel:.*\n/, ''), /^panel\.url: is required$/m],
    ['missing panel (its key)', VALID.replace(/panel:.*\n/, ''), /^panel\.apiKey: is required — secret VPS_SYNC_API_KEY not found/m],
    ['no sources', VALID.replace(/sources:\n.*\n/, 'sources: []\n'), /^sources: at least one source/],
    ['not a mapping', '- a\n- b\n', /top level must be a mapping/],
    ['broken YAML', 'panel: {url: [}\n', /not valid YAML/],
    ['duplicate key', VALID + 'stateFile: /x\n', /not valid YAML/],
    ['relative stateFile', VALID.replace('stateFile: /tmp/state.db', 'stateFile: state.db'), /stateFile: must be an absolute path/],
  ])('%s', (_name, text, pattern) => {
    expect(problems(text).join('\n')).toMatch(pattern);
  });

  it.each([
    ['mysql', 'postgres://db/x', /billing\.url: must be a mysql:\/\/ URL for the mysql driver/],
    ['postgres', '/var/lib/billing.db', /billing\.url: must be a postgres:\/\/ URL for the postgres driver/],
    ['sqlite', 'mysql://db/x', /billing\.url: must be a file path for the sqlite driver/],
  ])('billing.url must suit the %s driver', (driver, url, pattern) => {
    expect(problems(VALID.replace(/billing:.*\n/, `billing: { driver: ${driver}, url: "${url}" }\n`)).join('\n')).toMatch(pattern);
  });

  it('the shipped example config is valid once its secrets are given', () => {
    const env = { VPS_SYNC_API_KEY: 'x'.repeat(32), PVE1_TOKEN_SECRET: SECRET, BILLING_DATABASE_URL: 'mysql://ro:pw@db:3306/ospab' };
    const { config } = loadConfig({ path: new URL('../../config/config.example.yaml', import.meta.url).pathname, env });
    expect(config.sources.map((s) => s.name)).toEqual(['pve1']);
  });

  it('a missing file says how to point at one', () => {
    expect(() => loadConfig({ path: join(dir, 'nope.yaml'), env: {} })).toThrow(/file not found \(set --config or OSPAB_VPS_SYNC_CONFIG\)/);
  });

  it('path: --config, else $OSPAB_VPS_SYNC_CONFIG, else /etc', () => {
    expect(resolveConfigPath('/a', { OSPAB_VPS_SYNC_CONFIG: '/b' })).toBe('/a');
    expect(resolveConfigPath(undefined, { OSPAB_VPS_SYNC_CONFIG: '/b' })).toBe('/b');
    expect(resolveConfigPath(undefined, {})).toBe('/etc/ospab-vps-sync/config.yaml');
  });

  it('env overrides: OSPAB_PANEL_URL and VPS_SYNC_API_KEY win over the file', () => {
    const other = 'e'.repeat(32);
    const { config } = loadConfig({ path: write('env.yaml', VALID), env: { OSPAB_PANEL_URL: 'http://127.0.0.1:5050', VPS_SYNC_API_KEY: other } });
    expect(config.panel.url).toBe('http://127.0.0.1:5050');
    expect(config.panel.apiKey).toBe(other);
  });

  it('a short key from the environment is refused too', () => {
    expect(problems(VALID, { VPS_SYNC_API_KEY: 'short' }).join()).toMatch(/panel\.apiKey: must be at least 32/);
  });

  it('secrets from <NAME>_FILE and from systemd credentials', () => {
    const creds = mkdtempSync(join(tmpdir(), 'creds-'));
    const fileKey = 'f'.repeat(33);
    writeFileSync(join(dir, 'key.txt'), `${fileKey}\n`);
    writeFileSync(join(creds, 'PVE1_TOKEN_SECRET'), '11111111-2222-3333-4444-555555555555\n');
    writeFileSync(join(creds, 'BILLING_DATABASE_URL'), 'mysql://ro:pw@db/billing');
    const noSecrets = VALID.replace(/apiKey: "k+"/, 'apiKey: ""').replace(/, tokenSecret: "[^"]+"/, '');
    const { config } = loadConfig({ path: write('creds.yaml', noSecrets), env: { VPS_SYNC_API_KEY_FILE: join(dir, 'key.txt'), CREDENTIALS_DIRECTORY: creds } });
    expect(config.panel.apiKey).toBe(fileKey);
    expect(config.sources[0]).toMatchObject({ tokenSecret: '11111111-2222-3333-4444-555555555555' });
    expect(config.billing.url).toBe('mysql://ro:pw@db/billing');
  });

  it('an unreadable _FILE is a problem with its name', () => {
    expect(problems(VALID, { VPS_SYNC_API_KEY_FILE: '/nonexistent/key' }).join()).toMatch(/VPS_SYNC_API_KEY_FILE: cannot read \/nonexistent\/key: ENOENT/);
  });

  it('secret env names follow the source name', () => {
    expect(sourceSecretEnvName('pve-1', 'tokenSecret')).toBe('PVE_1_TOKEN_SECRET');
    expect(sourceSecretEnvName('vc.main', 'password')).toBe('VC_MAIN_PASSWORD');
  });

  it('redaction masks every secret and the DB password, and scrub removes them from text', () => {
    const { config } = loadConfig({ path: write('r.yaml', VALID), env: {} });
    const shown = JSON.stringify(redactConfig(config));
    expect(shown).not.toContain(KEY);
    expect(shown).not.toContain(SECRET);
    expect(shown).not.toContain('hunter2hunter2');
    expect(shown).toContain('mysql://sync:***@db:3306/billing');
    expect(scrub(`boom ${KEY} and hunter2hunter2`, secretValues(config))).toBe('boom *** and ***');
  });

  it("a vSphere password is also scrubbed in the HTTP Basic form a proxy may echo", () => {
    const sources = [{ type: 'vmware', name: 'vc1', username: 'svc@vsphere.local', password: 'vc-Passw0rd!' }];
    const config = { panel: { apiKey: KEY }, http: {}, sources, billing: { driver: 'sqlite', url: '/x.db' } } as unknown as Config;
    const basic = Buffer.from('svc@vsphere.local:vc-Passw0rd!').toString('base64');
    expect(scrub(`echoed: Authorization: Basic ${basic}`, secretValues(config))).toBe('echoed: Authorization: Basic ***');
  });
});

describe('http.listen is read at load the way the server reads it', () => {
  const listenProblems = (listen: string): string => problems(`${VALID}http: { listen: ${JSON.stringify(listen)} }\n`).join('\n');
  it.each([
    ['a host without a port', 'localhost', /^http\.listen: "localhost": missing host or port \(expected host:port/],
    ['a port without a host', ':9477', /^http\.listen: ":9477": missing host or port/],
    ['a port that is not a number', '127.0.0.1:http', /^http\.listen: "127\.0\.0\.1:http": port "http" is not a number/],
    ['a port out of range', '127.0.0.1:70000', /^http\.listen: "127\.0\.0\.1:70000": port 70000 is out of range/],
    ['IPv6 without brackets', '::1:9477', /^http\.listen: "::1:9477": put an IPv6 address in brackets/],
    ['only whitespace', ' ', /^http\.listen: is only whitespace: use "" to disable/],
  ])('refuses %s', (_name, listen, pattern) => {
    expect(listenProblems(listen)).toMatch(pattern);
  });
  it.each([['the default', '127.0.0.1:9477'], ['a host name', 'localhost:9477'], ['IPv6', '[::1]:9477'], ['every address', '0.0.0.0:9477'], ['disabled', '']])('accepts %s', (_name, listen) => {
    expect(listenProblems(listen)).toBe('');
  });
});

it('a vSphere name pattern that is not a regular expression fails validation, naming the entry', () => {
  const vmware = `  - { name: vc1, type: vmware, url: "https://vc.example", username: sync, password: pw, filters: { namePatterns: ["^vps-", "(unclosed"] } }\n`;
  const found = problems(VALID.replace(/(sources:\n.*\n)/, `$1${vmware}`));
  expect(found).toEqual([expect.stringMatching(/^sources\[1\]\.filters\.namePatterns\[1\]: is not a valid regular expression: .*unclosed/i)]);
});

describe('readCaFile: a CA file a key names, checked when a command starts', () => {
  const pem = write('ca.pem', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  it('returns the PEM text', () => expect(readCaFile('panel.caFile', pem)).toContain('BEGIN CERTIFICATE'));
  it.each([
    ['a missing file', join(dir, 'missing.pem'), /^panel\.caFile: cannot read .*missing\.pem: file not found$/],
    ['a directory', dir, /^panel\.caFile: cannot read .*: is a directory$/],
    ['a file without a certificate', write('empty.pem', 'not a certificate\n'), /^panel\.caFile: .*empty\.pem holds no PEM certificate/],
  ])('refuses %s, naming the key and the file', (_name, path, pattern) => {
    const err = (() => {
      try {
        readCaFile('panel.caFile', path);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(ConfigValueError);
    expect((err as Error).message).toMatch(pattern);
  });
});

/** The problems of VALID with its billing line replaced (a JSON string is a YAML double-quoted scalar). */
const billingProblems = (driver: string, url: string, env: NodeJS.ProcessEnv = {}): string =>
  problems(VALID.replace(/billing:.*\n/, `billing: { driver: ${driver}, url: ${JSON.stringify(url)} }\n`), env).join('\n');

describe('billing.url is read at load the way the drivers read it, and its password is never quoted', () => {
  // [case, driver, url, the problem, the password that must not appear]
  const refused: [string, string, string, RegExp, string][] = [
    ["a '#' in the password", 'mysql', 'mysql://sync:S3cr#tBillingPw@db.internal:3306/billing', /^billing\.url: has a '#', '\?' or '\/' before its last '@': .*percent-encoded \(%23, %3F, %2F\)$/, 'S3cr#tBillingPw'],
    ["a '?' in the password (URL would read host u, port 1234)", 'mysql', 'mysql://u:1234?xyzPw@db:3306/b', /^billing\.url: has a '#', '\?' or '\/' before its last '@'/, '1234?xyzPw'],
    ["a '/' in the password", 'postgres', 'postgres://sync:ab/cdPw99@db/shop', /^billing\.url: has a '#', '\?' or '\/' before its last '@'/, 'ab/cdPw99'],
    ['a letter in the port', 'mysql', 'mysql://sync:billing-db-pass-9f8e7d@db.internal:33o6/billing', /^billing\.url: has port "33o6", which is not a number/, 'billing-db-pass-9f8e7d'],
    ['a port out of range', 'postgres', 'postgres://sync:Pw-123456@db:99999/shop', /^billing\.url: has port "99999", which is not a number from 0 to 65535/, 'Pw-123456'],
    ['the host forgotten (the password reads as a port)', 'mysql', 'mysql://sync:Pw-123456/db', /^billing\.url: has a port that is not a number/, 'Pw-123456'],
    ['no host', 'mysql', 'mysql://sync:Pw-123456@/db', /^billing\.url: has no host; driver "mysql" needs mysql:\/\/user:pass@host:3306\/db$/, 'Pw-123456'],
    ["a literal '%' in the password", 'postgres', 'postgres://sync:50%off-Pass@127.0.0.1:5432/billing', /^billing\.url: the password has a '%' that does not start a valid percent-encoding: percent-encode a literal % as %25$/, '50%off-Pass'],
    ["a literal '%' in the user name", 'mysql', 'mysql://a%zz:Pw-123456@db/x', /^billing\.url: the user name has a '%'/, 'Pw-123456'],
    ['?sslmode=require', 'postgres', 'postgres://sync:Pw-123456@db:5432/billing?sslmode=require', /^billing\.url: has URL parameters .*billing\.tls\.enabled, billing\.tls\.caFile and billing\.tls\.insecure$/, 'Pw-123456'],
    ['a password as a URL parameter', 'postgres', 'postgres://db:5432/billing?password=Qw3rty-Pw', /^billing\.url: has URL parameters/, 'Qw3rty-Pw'],
    ['?ssl=true on mysql', 'mysql', 'mysql://sync:Pw-123456@db/billing?ssl=true', /^billing\.url: has URL parameters/, 'Pw-123456'],
    ["a '#' after the host", 'mysql', 'mysql://sync:Pw-123456@db/bill#ing', /^billing\.url: has a '#' after the host/, 'Pw-123456'],
    ['a tab in the password', 'mysql', 'mysql://sync:Pw\t123456@db/x', /^billing\.url: contains a control character/, '123456'],
  ];
  it.each(refused)('%s', (_name, driver, url, pattern, secret) => {
    const found = billingProblems(driver, url);
    expect(found).toMatch(pattern);
    expect(found).not.toContain(secret);
  });

  it('the same when the URL comes from BILLING_DATABASE_URL', () => {
    const found = billingProblems('mysql', 'mysql://x@y/z', { BILLING_DATABASE_URL: 'mysql://sync:S3cr#tBillingPw@db.internal:3306/billing' });
    expect(found).toMatch(/^billing\.url: has a '#'/);
    expect(found).not.toContain('S3cr#tBillingPw');
  });

  it.each([
    ['percent-encoded specials', 'mysql', 'mysql://sync:S3cr%23t%3F%2F%25@db.internal:3306/billing'],
    ["an unencoded '@' or ':' (the last '@' ends the password)", 'mysql', 'mysql://u:p@ss:w0rd@h/db'],
    ['no password, IPv6 host', 'postgres', 'postgresql://sync@[::1]/shop'],
    ['no credentials, default port', 'mysql', 'mariadb://h/db'],
    ['a sqlite path (never read as a URL)', 'sqlite', '/var/lib/bill#ing?.db'],
  ])('accepts %s', (_name, driver, url) => {
    expect(billingProblems(driver, url)).toBe('');
  });
});

describe('redactUrl masks from the text as written, so an unparseable URL is masked too', () => {
  it.each([
    ['mysql://sync:hunter2hunter2@db:3306/billing', 'mysql://sync:***@db:3306/billing'],
    ['mysql://sync:S3cr#tBillingPw@db.internal:3306/billing', 'mysql://sync:***@db.internal:3306/billing'],
    ['mysql://sync:billing-db-pass-9f8e7d@db.internal:33o6/billing', 'mysql://sync:***@db.internal:33o6/billing'],
    ['mysql://u:1234?xyzPw@h/db', 'mysql://u:***@h/db'],
    ['mysql://u:p@ss@h/db', 'mysql://u:***@h/db'],
    ['postgres://sync:50%off-Pass@h/db', 'postgres://sync:***@h/db'],
    ['postgres://db/billing?password=Qw3rty-Pw', 'postgres://db/billing?***'],
    ['mysql://sync:Pw-123456/db', 'mysql://sync:***/db'],
    ['postgresql://sync@[::1]/shop', 'postgresql://sync@[::1]/shop'],
    ['mysql://sync:@h/db', 'mysql://sync:@h/db'],
    ['/var/lib/billing.db', '/var/lib/billing.db'],
    ['file:///srv/billing.db', 'file:///srv/billing.db'],
  ])('%s', (url, shown) => expect(redactUrl(url)).toBe(shown));
});

describe('secretValues finds the billing password in every spelling, even when URL cannot parse it', () => {
  const withUrl = (url: string): string[] =>
    secretValues({ panel: { apiKey: KEY }, http: {}, sources: [], billing: { driver: 'mysql', url } } as unknown as Config);
  it.each([
    ['mysql://sync:S3cr#tBillingPw@db.internal:3306/billing', ['S3cr#tBillingPw']],
    ['mysql://sync:billing-db-pass-9f8e7d@db.internal:33o6/billing', ['billing-db-pass-9f8e7d']],
    ['postgres://sync:50%off-Pass@127.0.0.1:1/billing', ['50%off-Pass']],
    ['mysql://sync:p%40ssword@h/db', ['p%40ssword', 'p@ssword']],
    ['mysql://sync:p ssword@h/db', ['p ssword', 'p%20ssword']],
    ['mysql://u:p@ss:w0rd@h/db', ['p@ss:w0rd', 'p%40ss%3Aw0rd']],
  ])('%s', (url, expected) => {
    expect(withUrl(url)).toEqual([KEY, ...expected]);
    expect(scrub(`connect ${url} failed for ${expected[0]}`, withUrl(url))).not.toContain(expected[0]);
  });
  it('a path has no password', () => expect(withUrl('/var/lib/billing.db')).toEqual([KEY]));
});

describe('secrets of a shape that can never work', () => {
  const API = 'k7Qw2Zp9Lr4Tx8Vb3Nm6Hc1Jd5Fg0Sa2Ye7Ui4Ko9Pl';
  const VMWARE = `  - { name: vc1, type: vmware, url: "https://vc.example", username: sync, password: "vc-Pass-1" }\n`;
  const withSecrets = (apiKey: string, extra = ''): string =>
    VALID.replace(/apiKey: "k+"/, `apiKey: ${JSON.stringify(apiKey)}`).replace(/(sources:\n.*\n)/, `$1${VMWARE}`) + extra;

  it('a YAML block scalar keeps a trailing newline: trimmed, as is surrounding whitespace from the environment', () => {
    const block = VALID.replace(/panel: .*\n/, `panel:\n  url: https://panel.example\n  apiKey: |\n    ${API}\n`) + 'http:\n  adminToken: >\n    admin-token-0123456789\n';
    const { config } = loadConfig({ path: write('block.yaml', block), env: {} });
    expect(config.panel.apiKey).toBe(API);
    expect(config.http.adminToken).toBe('admin-token-0123456789');
    const fromEnv = loadConfig({ path: write('envtrim.yaml', VALID), env: { VPS_SYNC_API_KEY: ` ${API}\r\n`, VPS_SYNC_ADMIN_TOKEN: '\tadmin-token-0123456789 ' } }).config;
    expect(fromEnv.panel.apiKey).toBe(API);
    expect(fromEnv.http.adminToken).toBe('admin-token-0123456789');
  });

  it('a VMware password may hold a space (HTTP Basic carries it)', () => {
    const text = withSecrets(KEY).replace('vc-Pass-1', 'vc Pass 1');
    expect(loadConfig({ path: write('vcspace.yaml', text), env: {} }).config.sources[1]).toMatchObject({ password: 'vc Pass 1' });
  });

  // [case, config text, env, the problem, the secret that must not appear]
  const refused: [string, string, NodeJS.ProcessEnv, RegExp, string][] = [
    ['panel.apiKey with a space', withSecrets('k7Qw2Zp9Lr4Tx8Vb3Nm6 Hc1Jd5Fg0Sa2Ye7Ui4Ko9Pl'), {}, /^panel\.apiKey: contains whitespace/, 'k7Qw2Zp9Lr4Tx8Vb3Nm6'],
    ['panel.apiKey with a line break inside', withSecrets(`${API.slice(0, 20)}\n${API.slice(20)}`), {}, /^panel\.apiKey: contains whitespace/, API.slice(0, 20)],
    ['panel.apiKey with a control character, from the environment', VALID, { VPS_SYNC_API_KEY: `${API}\u0001x` }, /^panel\.apiKey: contains a control character/, API],
    ['panel.apiKey with a non-ASCII character', withSecrets(`${API}ключ`), {}, /^panel\.apiKey: contains a non-ASCII character/, API],
    ['http.adminToken with a space', VALID + 'http: { adminToken: "my admin token 0123" }\n', {}, /^http\.adminToken: contains whitespace/, 'my admin token 0123'],
    ['http.adminToken with a tab, from the environment', VALID, { VPS_SYNC_ADMIN_TOKEN: 'admin-token\t0123456789' }, /^http\.adminToken: contains whitespace/, '0123456789'],
    ['sources[].password with a line break inside', withSecrets(KEY).replace('vc-Pass-1', 'vc-Pass\\n-1'), {}, /^sources\[1\]\.password: contains a control character/, 'vc-Pass'],
  ];
  it.each(refused)('%s', (_name, text, env, pattern, secret) => {
    const found = problems(text, env).join('\n');
    expect(found).toMatch(pattern);
    expect(found).not.toContain(secret);
  });
});

describe('sources[].fallbackUrls: more nodes of the same Proxmox cluster', () => {
  const withFallbacks = (list: string): string =>
    VALID.replace('tokenSecret: "' + SECRET + '" }', `tokenSecret: "${SECRET}", fallbackUrls: ${list} }`);

  it('loads, keeping url as the primary', () => {
    const { config } = loadConfig({ path: write('fallbacks.yaml', withFallbacks('["https://10.0.0.3:8006", "https://pve-c.example:8006"]')), env: {} });
    expect(config.sources[0]).toMatchObject({ url: 'https://10.0.0.2:8006', fallbackUrls: ['https://10.0.0.3:8006', 'https://pve-c.example:8006'] });
  });

  it('is optional', () => {
    expect(loadConfig({ path: write('nofallbacks.yaml', VALID), env: {} }).config.sources[0]).not.toHaveProperty('fallbackUrls');
  });

  it.each([
    ['a duplicate of url', '["https://10.0.0.2:8006"]', /^sources\[0\]\.fallbackUrls\[0\]: is the same endpoint as url: list each node of the cluster once$/],
    ['a duplicate of url spelled differently', '["https://10.0.0.3:8006", "HTTPS://10.0.0.2:8006/"]', /^sources\[0\]\.fallbackUrls\[1\]: is the same endpoint as url:/],
    ['two equal fallbacks', '["https://10.0.0.3:8006", "https://10.0.0.4:8006", "https://10.0.0.3:8006"]', /^sources\[0\]\.fallbackUrls\[2\]: is the same endpoint as fallbackUrls\[0\]:/],
    ['a URL that is not http(s)', '["ftp://10.0.0.3"]', /^sources\[0\]\.fallbackUrls\[0\]: must be an http:\/\/ or https:\/\/ URL$/],
    ['no URL at all', '["10.0.0.3:8006 pve-b"]', /^sources\[0\]\.fallbackUrls\[0\]: must be an http:\/\/ or https:\/\/ URL$/],
    ['an empty entry', '[""]', /^sources\[0\]\.fallbackUrls\[0\]: must not be empty/],
    ['not a list', '"https://10.0.0.3:8006"', /^sources\[0\]\.fallbackUrls: /],
  ])('refuses %s, naming the key', (_name, list, pattern) => {
    expect(problems(withFallbacks(list)).join('\n')).toMatch(pattern);
  });

  it('the same host on another port or base path is another endpoint', () => {
    expect(problems(withFallbacks('["https://10.0.0.2:8007", "https://10.0.0.2:8006/pve-b"]'))).toEqual([]);
  });

  it('is a Proxmox key: a vSphere source refuses it', () => {
    const vmware = `  - { name: vc1, type: vmware, url: "https://vc.example", username: sync, password: pw, fallbackUrls: ["https://vc2.example"] }\n`;
    expect(problems(VALID.replace(/(sources:\n.*\n)/, `$1${vmware}`))).toEqual([expect.stringMatching(/^sources\[1\]: unknown key "fallbackUrls"/)]);
  });
});

describe('the CA files a config names (check-config)', () => {
  const base = loadConfig({ path: write('ca-files.yaml', VALID), env: {} }).config;
  it.each([
    ['readable PEM', () => '-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n', { problems: [], unreadable: [] }],
    ['not found', () => { throw Object.assign(new Error('x'), { code: 'ENOENT' }); }, { problems: ['panel.caFile: cannot read /ca.pem: file not found'], unreadable: [] }],
    ['no certificate in it', () => 'hello', { problems: ['panel.caFile: /ca.pem holds no PEM certificate (expected "-----BEGIN CERTIFICATE-----")'], unreadable: [] }],
    // Another user (the service's) may read it: a warning, not a verdict.
    ['permission denied', () => { throw Object.assign(new Error('x'), { code: 'EACCES' }); }, { problems: [], unreadable: ['panel.caFile: cannot read /ca.pem: permission denied'] }],
  ])('%s', (_name, read, expected) => {
    const config = { ...base, panel: { ...base.panel, caFile: '/ca.pem' } };
    expect(checkCaFiles(config, read)).toEqual(expected);
  });

  it('names every CA file by its key', () => {
    const config = {
      ...base,
      panel: { ...base.panel, caFile: '/p.pem' },
      sources: [base.sources[0]!, { ...base.sources[0]!, name: 'pve2', tls: { insecure: false, caFile: '/s.pem' } }],
      billing: { ...base.billing, tls: { enabled: true, insecure: false, caFile: '/b.pem' } },
    };
    expect(caFilesOf(config)).toEqual([['panel.caFile', '/p.pem'], ['sources[1].tls.caFile', '/s.pem'], ['billing.tls.caFile', '/b.pem']]);
  });

  it('leaves out a CA file the daemon never reads: a source with tls.insecure, billing without tls.enabled', () => {
    // The sources' dispatchers skip caFile when insecure, and billing reads it only with TLS on:
    // check-config must not refuse (78) a config the daemon runs with as it is.
    const config = {
      ...base,
      sources: [{ ...base.sources[0]!, tls: { insecure: true, caFile: '/s.pem' } }],
      billing: { ...base.billing, tls: { enabled: false, insecure: false, caFile: '/b.pem' } },
    };
    expect(caFilesOf(config)).toEqual([]);
    expect(checkCaFiles(config, () => { throw Object.assign(new Error('x'), { code: 'ENOENT' }); })).toEqual({ problems: [], unreadable: [] });
  });
});

describe('relative file paths in a config', () => {
  // Under systemd the daemon starts in /, check-config wherever the operator is: both must read the same file.
  const sub = mkdtempSync(join(tmpdir(), 'vps-sync-paths-'));
  const load = (text: string) => loadConfig({ path: join(sub, 'config.yaml'), env: {}, readFile: () => text }).config;
  it('are taken from the config file\'s directory; absolute ones, URLs and other drivers are left as they are', () => {
    const config = load(`
stateFile: /tmp/state.db
panel: { url: https://panel.example, apiKey: "${KEY}", caFile: certs/panel.pem }
sources:
  - { name: pve1, type: proxmox, url: "https://10.0.0.2:8006", tokenId: "sync@pve!daemon", tokenSecret: "${SECRET}", tls: { caFile: ./pve-ca.pem } }
  - { name: pve2, type: proxmox, url: "https://10.0.1.2:8006", tokenId: "sync@pve!daemon", tokenSecret: "${SECRET}", tls: { caFile: /etc/pve2.pem } }
  - { name: pve3, type: proxmox, url: "https://10.0.2.2:8006", tokenId: "sync@pve!daemon", tokenSecret: "${SECRET}" }
billing: { driver: sqlite, url: ../billing/main.db }
`);
    expect(config.panel.caFile).toBe(join(sub, 'certs/panel.pem'));
    expect(config.sources.map((s) => s.tls.caFile)).toEqual([join(sub, 'pve-ca.pem'), '/etc/pve2.pem', undefined]);
    expect(config.billing.url).toBe(join(sub, '../billing/main.db'));
    expect(load(VALID.replace('billing: { driver: mysql', 'billing: { tls: { enabled: true, caFile: db-ca.pem }, driver: mysql')).billing).toMatchObject({
      url: 'mysql://sync:hunter2hunter2@db:3306/billing',
      tls: { caFile: join(sub, 'db-ca.pem') },
    });
    for (const url of ['file:billing.db', 'sqlite:billing.db', '/srv/billing.db']) expect(load(VALID.replace(/billing: .*/, `billing: { driver: sqlite, url: "${url}" }`)).billing.url).toBe(url);
  });
});
