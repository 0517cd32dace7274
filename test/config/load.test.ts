import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, resolveConfigPath, sourceSecretEnvName } from '../../src/config/load.js';
import { redactConfig, scrub, secretValues } from '../../src/config/redact.js';

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
    ['missing panel', VALID.replace(/panel:.*\n/, ''), /^panel\.url: is required\npanel\.apiKey: is required/],
    ['no sources', VALID.replace(/sources:\n.*\n/, 'sources: []\n'), /^sources: at least one source/],
    ['not a mapping', '- a\n- b\n', /top level must be a mapping/],
    ['broken YAML', 'panel: {url: [}\n', /not valid YAML/],
    ['duplicate key', VALID + 'stateFile: /x\n', /not valid YAML/],
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
});
