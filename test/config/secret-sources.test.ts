// A secret comes from the file, the environment, a *_FILE or a systemd credential: every message
// about one says which, a missing one says where it was looked for, commands that never use a
// secret load without it, and no two sources may share a secret's name.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type ConfigInputs } from '../../src/config/load.js';
import { redactConfig, scrub, secretValues } from '../../src/config/redact.js';

const KEY = 'k'.repeat(40);
const SECRET = '0b9f5a2e-3c1d-4e8f-9a7b-1c2d3e4f5a6b';
const dir = mkdtempSync(join(tmpdir(), 'vps-sync-secrets-'));
const creds = mkdtempSync(join(tmpdir(), 'vps-sync-creds-'));
writeFileSync(join(creds, 'PVE1_TOKEN_SECRET'), 'not-a-uuid\n');
writeFileSync(join(dir, 'short-key'), 'short\n');

/** The install's config.yaml: no secret in it (they come as credentials). */
const NO_SECRETS = `
stateFile: /tmp/state.db
panel: { url: https://panel.example }
sources:
  - { name: pve1, type: proxmox, url: "https://10.0.0.2:8006", tokenId: "sync@pve!daemon" }
billing: { driver: mysql }
`;
const WITH_SECRETS = `
stateFile: /tmp/state.db
panel: { url: https://panel.example, apiKey: "${KEY}" }
sources:
  - { name: pve1, type: proxmox, url: "https://10.0.0.2:8006", tokenId: "sync@pve!daemon", tokenSecret: "${SECRET}" }
billing: { driver: mysql, url: "mysql://sync:pw@db/billing" }
`;

let n = 0;
function load(text: string, env: NodeJS.ProcessEnv, more: Partial<ConfigInputs> = {}) {
  const path = join(dir, `c${n++}.yaml`);
  writeFileSync(path, text);
  return loadConfig({ path, env, ...more });
}
function problems(text: string, env: NodeJS.ProcessEnv, more: Partial<ConfigInputs> = {}): string[] {
  try {
    load(text, env, more);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe('a problem with a value an override gave names where it came from', () => {
  // [case, env, the problem]
  const cases: [string, NodeJS.ProcessEnv, RegExp][] = [
    ['OSPAB_PANEL_URL', { OSPAB_PANEL_URL: 'panel.example' }, /^panel\.url: must be an http:\/\/ or https:\/\/ URL \(from env OSPAB_PANEL_URL\)$/],
    ['VPS_SYNC_API_KEY', { VPS_SYNC_API_KEY: 'short' }, /^panel\.apiKey: must be at least 32 characters.* \(from env VPS_SYNC_API_KEY\)$/],
    ['VPS_SYNC_API_KEY_FILE', { VPS_SYNC_API_KEY_FILE: join(dir, 'short-key') }, /^panel\.apiKey: must be at least 32 characters.* \(from VPS_SYNC_API_KEY_FILE .*short-key\)$/],
    ['a systemd credential', { CREDENTIALS_DIRECTORY: creds }, /^sources\[0\]\.tokenSecret: must be the token secret Proxmox showed .* \(from credential PVE1_TOKEN_SECRET\)$/],
    ['BILLING_DATABASE_URL', { BILLING_DATABASE_URL: 'postgres://db/x' }, /^billing\.url: must be a mysql:\/\/ URL for the mysql driver \(from env BILLING_DATABASE_URL\)$/],
  ];
  it.each(cases)('%s', (_name, env, problem) => {
    const found = problems(WITH_SECRETS, env);
    expect(found).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
    expect(found.join('\n')).not.toContain('short\n');
  });

  it('a value from the file says nothing of an override', () => {
    const found = problems(WITH_SECRETS.replace('https://panel.example', 'panel.example'), {});
    expect(found).toEqual(['panel.url: must be an http:// or https:// URL']);
  });
});

describe('a missing secret says what to set, and where it was looked for', () => {
  it('from a shell: names the env variables and says there are no credentials here', () => {
    const found = problems(NO_SECRETS, {});
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^panel\.apiKey: is required — secret VPS_SYNC_API_KEY not found: looked for env VPS_SYNC_API_KEY, env VPS_SYNC_API_KEY_FILE and a systemd credential, but CREDENTIALS_DIRECTORY is not set here .*LoadCredential=VPS_SYNC_API_KEY$/),
        expect.stringMatching(/^sources\[0\]\.tokenSecret: is required — secret PVE1_TOKEN_SECRET not found: .*env PVE1_TOKEN_SECRET_FILE .*LoadCredential=PVE1_TOKEN_SECRET$/),
        expect.stringMatching(/^billing\.url: is required — secret BILLING_DATABASE_URL not found: /),
      ]),
    );
    expect(found).toHaveLength(3);
  });

  it('under systemd: names the credential file that is not there, and the LoadCredential= to add', () => {
    const empty = mkdtempSync(join(tmpdir(), 'vps-sync-nocreds-'));
    const found = problems(NO_SECRETS, { CREDENTIALS_DIRECTORY: empty });
    expect(found).toContain(
      `sources[0].tokenSecret: is required — secret PVE1_TOKEN_SECRET not found: looked for env PVE1_TOKEN_SECRET, env PVE1_TOKEN_SECRET_FILE and the credential ${empty}/PVE1_TOKEN_SECRET, which is not there: declare LoadCredential=PVE1_TOKEN_SECRET (or LoadCredentialEncrypted=PVE1_TOKEN_SECRET) for the unit`,
    );
  });
});

describe('optionalSecrets: commands that never use a secret load without it', () => {
  const all = ['panel', 'billing', 'sources'] as const;

  it('loads the install config with no secret anywhere, naming what it did not find; the values are empty', () => {
    const { config, missingSecrets } = load(NO_SECRETS, {}, { optionalSecrets: all });
    expect(missingSecrets.map((m) => [m.key, m.name])).toEqual([
      ['panel.apiKey', 'VPS_SYNC_API_KEY'],
      ['billing.url', 'BILLING_DATABASE_URL'],
      ['sources[0].tokenSecret', 'PVE1_TOKEN_SECRET'],
    ]);
    expect(config.panel.apiKey).toBe('');
    expect(config.billing.url).toBe('');
    expect(config.sources[0]).toMatchObject({ tokenSecret: '' });
    expect(config.sources[0]!.url).toBe('https://10.0.0.2:8006');
  });

  it('still validates everything else, and a secret that is found', () => {
    expect(problems(NO_SECRETS.replace('https://panel.example', 'panel.example'), {}, { optionalSecrets: all })).toEqual(['panel.url: must be an http:// or https:// URL']);
    expect(problems(NO_SECRETS, { VPS_SYNC_API_KEY: 'short' }, { optionalSecrets: all })).toEqual([expect.stringMatching(/^panel\.apiKey: must be at least 32 .*\(from env VPS_SYNC_API_KEY\)$/)]);
  });

  it('only the groups named are optional', () => {
    expect(problems(NO_SECRETS, {}, { optionalSecrets: ['panel'] }).map((p) => p.split(':')[0])).toEqual(['billing.url', 'sources[0].tokenSecret']);
  });
});

describe('two sources may not share a secret name', () => {
  const source = (name: string, type = 'proxmox') =>
    type === 'proxmox'
      ? `  - { name: "${name}", type: proxmox, url: "https://10.0.0.2:8006", tokenId: "sync@pve!daemon", tokenSecret: "${SECRET}" }\n`
      : `  - { name: "${name}", type: vmware, url: "https://vc.example", username: sync, password: pw }\n`;
  const withSources = (...s: string[]) => WITH_SECRETS.replace(/sources:\n.*\n/, `sources:\n${s.join('')}`);

  it.each([
    ['pve-1', 'pve_1', 'PVE_1_TOKEN_SECRET'],
    ['pve-1', 'pve.1', 'PVE_1_TOKEN_SECRET'],
    ['PVE1', 'pve1', 'PVE1_TOKEN_SECRET'],
  ])('%s and %s both read %s', (a, b, secret) => {
    expect(problems(withSources(source(a), source(b)), {})).toEqual([
      `sources[1].name: "${b}" and sources[0].name "${a}" both take their secret from ${secret} (a source's secret name is its name upper-cased, other characters as "_"): rename one`,
    ]);
  });

  it('a Proxmox and a vSphere source of the same stem read different secrets', () => {
    expect(problems(withSources(source('dc1'), source('DC1', 'vmware')), {})).toEqual([]);
  });
});

describe('URLs with userinfo', () => {
  const text = WITH_SECRETS.replace('https://panel.example', 'https://admin:Panel-Pw-1@panel.example').replace(
    'url: "https://10.0.0.2:8006"',
    'url: "https://root:Pve-Pw-22@10.0.0.2:8006", fallbackUrls: ["https://tok3n-Pw-333@10.0.0.3:8006"]',
  );

  it('are masked, user and password, wherever the config is printed', () => {
    const { config } = load(text, {});
    const shown = JSON.stringify(redactConfig(config));
    for (const pw of ['Panel-Pw-1', 'Pve-Pw-22', 'tok3n-Pw-333', 'admin', 'root:']) expect(shown).not.toContain(pw);
    expect(shown).toContain('"https://***@panel.example"');
    expect(shown).toContain('"https://***@10.0.0.2:8006"');
    expect(shown).toContain('"https://***@10.0.0.3:8006"');
  });

  it('are scrubbed from messages', () => {
    const { config } = load(text, {});
    expect(scrub('GET https://root:Pve-Pw-22@10.0.0.2:8006 failed; panel Panel-Pw-1', secretValues(config))).not.toMatch(/Pve-Pw-22|Panel-Pw-1/);
  });
});
