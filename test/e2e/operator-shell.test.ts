// The commands an operator runs from a shell on the documented systemd install: config.yaml holds
// no secret, the service gets them as credentials, and the shell has no $CREDENTIALS_DIRECTORY.
// Commands that never use a secret must work there; the others must say which secret is missing
// and where it was looked for. And the state file: every way it can be wrong is named, with a hint.
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { API_KEY, runCli, TOKEN_SECRET, World } from '../support/world.js';

const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);

/** Runs the CLI in-process with exactly this environment (World.cli gives it PATH only). */
const cli = runCli;

/** The world's config as the install writes it: every secret left out (they come as credentials). */
function installConfig(world: World, over: Record<string, unknown> = {}): Record<string, unknown> {
  const c = world.configObject(over);
  const { apiKey: _k, ...panel } = c.panel as Record<string, unknown>;
  const { url: _u, ...billing } = c.billing as Record<string, unknown>;
  const sources = (c.sources as Record<string, unknown>[]).map(({ tokenSecret: _s, ...s }) => s);
  return { ...c, panel, billing, sources };
}

describe('operator commands from a shell, on the systemd install (no credentials here)', () => {
  let world: World;
  let shellConfig: string;
  const write = (name: string, config: Record<string, unknown>): string => {
    const p = join(world.dir, name);
    writeFileSync(p, stringify(config));
    return p;
  };
  beforeAll(async () => {
    world = await new World().start();
    world.addVm({ vmid: 100 });
    world.bill(100, 5);
    expect((await world.cli('once')).code).toBe(0);
    shellConfig = write('install.yaml', installConfig(world));
  });
  afterAll(async () => {
    await world.stop();
  });

  it('status and resolve work: they never use a secret', async () => {
    const status = await cli(shellConfig, {}, 'status');
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/pve1/);
    const resolve = await cli(shellConfig, {}, 'resolve', 'pve1/100', '--forget');
    expect(resolve.code, resolve.stderr).toBe(0);
  });

  it('plan needs the sources\' and billing\'s secrets, never the panel\'s API key', async () => {
    const r = await cli(shellConfig, { PVE1_TOKEN_SECRET: TOKEN_SECRET, BILLING_DATABASE_URL: world.billingPath }, 'plan');
    expect(r.code, r.stderr).toBe(2); // pve1/100 was forgotten above: a create is due
    const without = await cli(shellConfig, {}, 'plan');
    expect(without.code).toBe(78);
    expect(without.stderr).not.toMatch(/panel\.apiKey/);
    expect(without.stderr).toMatch(/^ {2}- sources\[0\]\.tokenSecret: is required — secret PVE1_TOKEN_SECRET not found: /m);
  });

  it('once says which secrets are missing, where it looked, and that there are no credentials here', async () => {
    const r = await cli(shellConfig, {}, 'once');
    expect(r.code).toBe(78);
    for (const [key, name] of [['panel.apiKey', 'VPS_SYNC_API_KEY'], ['sources[0].tokenSecret', 'PVE1_TOKEN_SECRET'], ['billing.url', 'BILLING_DATABASE_URL']]) {
      expect(r.stderr).toContain(`  - ${key}: is required — secret ${name} not found: looked for env ${name}, env ${name}_FILE and a systemd credential, but CREDENTIALS_DIRECTORY is not set here`);
    }
    noStack(r.stderr);
  });

  it('check-config validates the file before the credentials exist, noting each secret it could not check', async () => {
    const r = await cli(shellConfig, {}, 'check-config');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/: valid \(secrets not checked, not found here: VPS_SYNC_API_KEY, BILLING_DATABASE_URL, PVE1_TOKEN_SECRET\)/);
    expect(r.stdout).toContain('apiKey: "(not found here: VPS_SYNC_API_KEY)"');
    expect(r.stderr).toMatch(/^note: sources\[0\]\.tokenSecret: secret PVE1_TOKEN_SECRET not found here, so not checked — looked for env PVE1_TOKEN_SECRET/m);
    // The rest is still checked.
    const bad = await cli(write('bad.yaml', installConfig(world, { schedule: 'hourly' })), {}, 'check-config');
    expect(bad.code).toBe(78);
    expect(bad.stderr).toMatch(/schedule: is not a valid cron pattern/);
  });

  it("check-config with the service's credentials (CREDENTIALS_DIRECTORY set) checks them, and a missing one is exit 78", async () => {
    const creds = mkdtempSync(join(tmpdir(), 'vps-sync-credstore-'));
    writeFileSync(join(creds, 'VPS_SYNC_API_KEY'), API_KEY);
    writeFileSync(join(creds, 'BILLING_DATABASE_URL'), world.billingPath);
    const missing = await cli(shellConfig, { CREDENTIALS_DIRECTORY: creds }, 'check-config');
    expect(missing.code).toBe(78);
    expect(missing.stderr).toContain(`sources[0].tokenSecret: is required — secret PVE1_TOKEN_SECRET not found: looked for env PVE1_TOKEN_SECRET, env PVE1_TOKEN_SECRET_FILE and the credential ${creds}/PVE1_TOKEN_SECRET, which is not there: declare LoadCredential=PVE1_TOKEN_SECRET`);
    writeFileSync(join(creds, 'PVE1_TOKEN_SECRET'), 'not-the-uuid\n');
    const bad = await cli(shellConfig, { CREDENTIALS_DIRECTORY: creds }, 'check-config');
    expect(bad.code).toBe(78);
    expect(bad.stderr).toMatch(/sources\[0\]\.tokenSecret: must be the token secret .*\(from credential PVE1_TOKEN_SECRET\)$/m);
    writeFileSync(join(creds, 'PVE1_TOKEN_SECRET'), `${TOKEN_SECRET}\n`);
    const ok = await cli(shellConfig, { CREDENTIALS_DIRECTORY: creds }, 'check-config');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).not.toContain(TOKEN_SECRET);
  });

  it('resync without an admin token says where it looked for one', async () => {
    const r = await cli(write('listen.yaml', installConfig(world, { http: { listen: '127.0.0.1:1' } })), {}, 'resync', '--force');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no admin token configured here .*looked for env VPS_SYNC_ADMIN_TOKEN, env VPS_SYNC_ADMIN_TOKEN_FILE and a systemd credential/);
  });

  it('rename-source and forget-source work: they never use a secret', async () => {
    expect((await world.cli('once')).code).toBe(0); // pve1/100 back in the state file
    const sources = (name: string) => [{ ...(installConfig(world).sources as Record<string, unknown>[])[0]!, name }];
    const renamed = await cli(write('renamed.yaml', { ...installConfig(world), sources: sources('pve-fra1') }), {}, 'rename-source', 'pve1', 'pve-fra1');
    expect(renamed.code, renamed.stderr).toBe(0);
    const forgot = await cli(write('removed.yaml', { ...installConfig(world), sources: sources('pve2') }), {}, 'forget-source', 'pve-fra1');
    expect(forgot.code, forgot.stderr).toBe(0);
  });
});

describe('a state file that cannot be used is named, with what to check', () => {
  let world: World;
  beforeAll(async () => {
    world = await new World().start();
    world.addVm({ vmid: 100 });
    world.bill(100, 5);
  });
  afterAll(async () => {
    await world.stop();
  });

  const NOT_OURS = /is stateFile an ospab-vps-sync state file\?/;
  // [case, make the state file (returns its path), [command, exit code][], the message after "state file <path>: "]
  const cases: [string, (dir: string) => string, [string, number][], RegExp][] = [
    ['a directory', (d) => { mkdirSync(join(d, 'x.db')); return join(d, 'x.db'); }, [['status', 78], ['plan', 78], ['once', 78], ['resolve pve1/100 --forget', 78], ['forget-source gone', 78]], /^is a directory — stateFile must name a file in it/],
    ['a file of another kind', (d) => { writeFileSync(join(d, 'x.db'), 'not a database\n'.repeat(100)); return join(d, 'x.db'); }, [['status', 78], ['plan', 78], ['once', 78], ['resolve pve1/100 --forget', 78], ['forget-source gone', 78]], /^file is not a database — is stateFile an ospab-vps-sync state file\?$/],
    ['an empty file', (d) => { writeFileSync(join(d, 'x.db'), ''); return join(d, 'x.db'); }, [['status', 1], ['plan', 1]], /^is empty \(no pass has written it yet\) — /],
    ["another program's SQLite database", (d) => { const db = new Database(join(d, 'x.db')); db.exec('CREATE TABLE users (id INTEGER)'); db.close(); return join(d, 'x.db'); }, [['status', 78], ['plan', 78], ['once', 78], ['resolve pve1/100 --forget', 78]], /^holds another program's tables and no ospab-vps-sync schema — /],
  ];
  it.each(cases)('%s', async (_name, make, commands, message) => {
    const stateFile = make(mkdtempSync(join(world.dir, 'state-')));
    world.writeConfig({ stateFile });
    try {
      for (const [command, code] of commands) {
        const r = await world.cli(...command.split(' '));
        expect(r.code, `${command}: ${r.stderr}`).toBe(code);
        const line = r.stderr.trim();
        expect(line.startsWith(`state file ${stateFile}: `), `${command}: ${line}`).toBe(true);
        expect(line.slice(`state file ${stateFile}: `.length), command).toMatch(message);
        if (code === 78 && !/directory/.test(_name)) expect(line).toMatch(NOT_OURS);
        expect(line.split('\n')).toHaveLength(1);
        noStack(r.stderr);
      }
    } finally {
      world.writeConfig();
    }
  });

  it('a state file written by a newer version: every command exits 78 (no restart loop) saying to run that version or restore a backup', async () => {
    expect((await world.cli('once')).code).toBe(0);
    const db = new Database(world.statePath);
    db.pragma('user_version = 99');
    db.close();
    try {
      for (const command of ['run', 'once', 'resync --local', 'plan', 'status', 'resolve pve1/100 --forget']) {
        const r = await world.cli(...command.split(' '));
        expect(r.code, `${command}: ${r.stderr}`).toBe(78);
        expect(r.stderr).toMatch(/^state file \S+state\.db: written by a newer ospab-vps-sync \(schema version 99; this build reads up to \d+\) — run the newer version, or restore a backup of the state file made by this one\n$/);
      }
    } finally {
      const back = new Database(world.statePath);
      back.pragma('user_version = 2');
      back.close();
    }
    expect((await world.cli('status')).code).toBe(0);
  });

  it.skipIf(process.geteuid?.() === 0)('a state file this user may not write says so, naming the user', async () => {
    const dir = mkdtempSync(join(world.dir, 'ro-'));
    world.writeConfig({ stateFile: join(dir, 'state.db') });
    try {
      expect((await world.cli('once')).code).toBe(0);
      for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o444);
      chmodSync(dir, 0o555);
      const r = await world.cli('resolve', 'pve1/100', '--forget');
      chmodSync(dir, 0o755);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^state file \S+state\.db: .* — this user \(uid \d+\) may (not (write|reach or read) it or its directory|read and write there)/);
    } finally {
      world.writeConfig();
    }
  });

  it.runIf(process.geteuid?.() === 0)('run as root (sudo) in the service\'s state directory, nothing it creates is left owned by root', async () => {
    const dir = mkdtempSync(join(world.dir, 'svc-'));
    chownSync(dir, 65534, 65534); // the service's (dynamic) user owns its state directory
    world.writeConfig({ stateFile: join(dir, 'state.db') });
    try {
      expect((await world.cli('once')).code).toBe(0);
      expect((await world.cli('resolve', 'pve1/100', '--forget')).code).toBe(0);
      const owners = readdirSync(dir).map((f) => [f, statSync(join(dir, f)).uid]);
      expect(owners.map(([f]) => f)).toEqual(expect.arrayContaining(['state.db', 'state.db.lock']));
      for (const [f, uid] of owners) expect(uid, String(f)).toBe(65534);
    } finally {
      world.writeConfig();
    }
  });
});
