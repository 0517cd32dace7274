// Each mistake an operator is likely to make gives one clear line saying what to fix,
// never a stack trace as the only message.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { closedPort } from '../support/ports.js';
import { API_KEY, TOKEN_SECRET, World } from '../support/world.js';

const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);

describe('operator errors', () => {
  let world: World;
  beforeAll(async () => {
    world = await new World().start();
    world.addVm({ vmid: 100 });
    world.bill(100, 5);
  });
  afterAll(async () => {
    await world.stop();
  });

  it('a bad config exits 78 listing every problem with its path', async () => {
    writeFileSync(world.configPath, 'panel: { url: nope }\nsources: []\nbilling: { driver: sqlite }\n');
    try {
      // check-config checks the file; a secret it cannot find here is a note (see operator-shell.test.ts).
      const r = await world.cli('check-config');
      expect(r.code).toBe(78);
      expect(r.stderr).toMatch(/panel\.url: must be an http/);
      expect(r.stderr).toMatch(/sources: at least one source/);
      noStack(r.stderr);
      // A command that uses the secrets says which is missing, and under what name it was looked for.
      const once = await world.cli('once');
      expect(once.code).toBe(78);
      expect(once.stderr).toMatch(/panel\.url: must be an http/);
      expect(once.stderr).toMatch(/billing\.url: is required — secret BILLING_DATABASE_URL not found: looked for env BILLING_DATABASE_URL/);
      noStack(once.stderr);
    } finally {
      world.writeConfig();
    }
  });

  it('check-config masks the userinfo of every URL it prints', async () => {
    const [src] = world.configObject().sources as Record<string, unknown>[];
    const withUser = (url: string, who: string) => url.replace('://', `://${who}@`);
    world.writeConfig({
      panel: { url: withUser(world.panel.url, 'ops:Panel-Url-Pw1'), apiKey: API_KEY },
      sources: [{ ...src, url: withUser(String(src!.url), 'root:Pve-Url-Pw2'), fallbackUrls: [withUser('https://127.0.0.1:1', 'tok-Url-Pw3')] }],
    });
    try {
      const r = await world.cli('check-config');
      expect(r.code, r.stderr).toBe(0);
      for (const secret of ['Panel-Url-Pw1', 'Pve-Url-Pw2', 'tok-Url-Pw3', 'ops:', 'root:']) expect(r.stdout).not.toContain(secret);
      expect(r.stdout.match(/https?:\/\/\*\*\*@/g)).toHaveLength(3);
    } finally {
      world.writeConfig();
    }
  });

  it('a short API key exits 78 and says the minimum', async () => {
    world.writeConfig({ panel: { url: world.panel.url, apiKey: 'short-key' } });
    const r = await world.cli('once');
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/panel\.apiKey: must be at least 32 characters/);
    expect(r.stderr).not.toContain('short-key');
    world.writeConfig();
  });

  it('check-config prints the effective config with secrets masked', async () => {
    const r = await world.cli('check-config');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/valid/);
    expect(r.stdout).toContain('apiKey: "***"');
    expect(r.stdout).not.toContain(API_KEY);
    expect(r.stdout).not.toContain(TOKEN_SECRET);
  });

  it('check-config warns (exit 0) when the schedule leaves passes further apart than readiness and the stale alert allow', async () => {
    const http = { listen: '127.0.0.1:9477' }; // the world runs without endpoints, where nothing is misled
    world.writeConfig({ http });
    expect((await world.cli('check-config')).stderr).not.toMatch(/schedule/); // every 10 s here
    world.writeConfig({ schedule: '0 0 * * *' });
    expect((await world.cli('check-config')).stderr).not.toMatch(/schedule/); // daily, but no /readyz or /metrics
    world.writeConfig({ schedule: '0 * * * *', http });
    try {
      const r = await world.cli('check-config');
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/^warning: schedule "0 \* \* \* \*" leaves up to 60 min between passes, longer than http\.readyMaxAgeSeconds \(600 s\): \/readyz answers 503 between passes/m);
      expect(r.stderr).toMatch(/^warning: .*VpsSyncStale alert fires: raise its 900 s in alerts\.yml, or schedule passes more often$/m);
    } finally {
      world.writeConfig();
    }
  });

  it.each([
    ['a source CA file that does not exist', () => ({ sources: [{ ...(world.configObject().sources as object[])[0], tls: { caFile: join(world.dir, 'nope.pem') } }] }), /^ {2}- sources\[0\]\.tls\.caFile: cannot read \S+nope\.pem: file not found$/m],
    ['a panel CA file that is a directory', () => ({ panel: { url: world.panel.url, apiKey: API_KEY, caFile: world.dir } }), /^ {2}- panel\.caFile: cannot read \S+: is a directory$/m],
  ])('check-config reads every CA file the config names: %s is exit 78, naming the key', async (_name, over, message) => {
    world.writeConfig(over());
    const r = await world.cli('check-config');
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
    noStack(r.stderr);
    world.writeConfig();
  });

  it('check-config accepts a CA file the daemon never reads (tls.insecure), as the daemon does', async () => {
    world.writeConfig({ sources: [{ ...(world.configObject().sources as object[])[0], tls: { insecure: true, caFile: join(world.dir, 'nope.pem') } }] });
    // The source lists (plan: 2, changes due), its caFile unread; plan leaves the state as it was for the tests after.
    const plan = await world.cli('plan');
    expect(plan.code, plan.stderr).toBe(2);
    const r = await world.cli('check-config');
    expect(r.code, r.stderr).toBe(0);
    world.writeConfig();
  });

  it('an unreachable Proxmox says it cannot connect, naming the source and URL', async () => {
    const port = await closedPort();
    world.writeConfig({ sources: [{ ...(world.configObject().sources as object[])[0], url: `https://127.0.0.1:${port}` }] });
    const r = await world.cli('once');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`source pve1 unknown: proxmox pve1: cannot connect to https://127\\.0\\.0\\.1:${port}: connection refused`));
    noStack(r.stdout + r.stderr);
    world.writeConfig();
  });

  it('a self-signed certificate without a CA file says to set tls.caFile or tls.insecure', async () => {
    const [src] = world.configObject().sources as Record<string, unknown>[];
    world.writeConfig({ sources: [{ ...src, tls: {} }] });
    const r = await world.cli('once');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/certificate/i);
    expect(r.stdout).toMatch(/tls\.caFile/);
    expect(r.stdout).toMatch(/tls\.insecure/);
    noStack(r.stdout + r.stderr);
    world.writeConfig({ sources: [{ ...src, tls: { insecure: true } }] });
    expect((await world.cli('plan')).code).toBe(2);
    world.writeConfig();
  });

  it('a panel answering 401 says to fix the API key, and the key is not shown', async () => {
    const wrong = 'w'.repeat(40);
    world.writeConfig({ panel: { url: world.panel.url, apiKey: wrong, timeoutMs: 2000 } });
    const r = await world.cli('once');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/panel refused the API key \(401\): fix panel\.apiKey \/ VPS_SYNC_API_KEY/);
    expect(r.stdout + r.stderr).not.toContain(wrong);
    expect(world.panel.table()).toEqual([]);
    world.writeConfig();
  });

  // A value that validates but cannot work must stop every command that would use it with 78,
  // which the unit does not restart on — not pass check-config and then exit 1 in a restart loop.
  // [case, config overrides (as a function of the world), commands and their exit codes, the problem]
  const unusable: [string, (w: World) => Record<string, unknown>, [string, number][], RegExp][] = [
    ['http.listen without a port', () => ({ http: { listen: 'localhost' } }), [['check-config', 78], ['run', 78], ['once', 78]], /^ {2}- http\.listen: "localhost": missing host or port \(expected host:port, e\.g\. 127\.0\.0\.1:9477/m],
    ['http.listen with a port out of range', () => ({ http: { listen: '127.0.0.1:94770' } }), [['check-config', 78], ['run', 78]], /^ {2}- http\.listen: "127\.0\.0\.1:94770": port 94770 is out of range/m],
    ['http.listen of spaces', () => ({ http: { listen: '  ' } }), [['check-config', 78], ['run', 78]], /^ {2}- http\.listen: is only whitespace: use "" to disable/m],
    // check-config reads the files a config names, and the commands that use the file refuse to
    // start. plan never talks to the panel.
    [
      'a missing panel.caFile',
      (w) => ({ panel: { ...(w.configObject().panel as object), caFile: '/nonexistent/panel-ca.pem' } }),
      [['check-config', 78], ['once', 78], ['run', 78], ['resync --local', 78]],
      /^config .*config\.yaml: 1 problem:\n {2}- panel\.caFile: cannot read \/nonexistent\/panel-ca\.pem: file not found$/m,
    ],
    [
      'a panel.caFile that is not PEM',
      (w) => {
        writeFileSync(join(w.dir, 'not-a-ca.txt'), 'hello\n');
        return { panel: { ...(w.configObject().panel as object), caFile: join(w.dir, 'not-a-ca.txt') } };
      },
      [['check-config', 78], ['once', 78], ['run', 78]],
      /^ {2}- panel\.caFile: .*not-a-ca\.txt holds no PEM certificate/m,
    ],
  ];
  it.each(unusable)('%s exits 78 naming the key', async (_name, over, commands, problem) => {
    world.writeConfig(over(world));
    try {
      for (const [command, code] of commands) {
        const r = await world.cli(...command.split(' '));
        expect(r.code, `${command}: ${r.stderr}`).toBe(code);
        if (code !== 78) continue;
        expect(r.stderr).toMatch(problem);
        expect(r.stderr).not.toMatch(/(E[A-Z]+): \1/); // an errno code said once, not "ENOENT: ENOENT"
        noStack(r.stderr);
      }
    } finally {
      world.writeConfig();
    }
    // Nothing was left locked by a command that refused to start.
    expect((await world.cli('once')).code).toBe(0);
  });

  it('resolve checks its arguments before the config: a usage mistake is 64 even without one', async () => {
    const away = `${world.configPath}.away`;
    renameSync(world.configPath, away);
    try {
      for (const args of [['resolve', 'pve1/100'], ['resolve', 'pve1/100', '--recreate', '--forget'], ['resolve', 'pve1/100', '--panel-id', 'x'], ['resolve', 'nokey', '--forget']]) {
        const r = await world.cli(...args);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(64);
      }
      expect((await world.cli('resolve', 'pve1/100', '--forget')).code).toBe(78); // well-formed: now the missing config counts
    } finally {
      renameSync(away, world.configPath);
    }
  });

  it.each(['0x77', '1e2', ' 5', '5 ', '+5', '05', '0', '-1', '1.0', '57.', '9007199254740993'])('resolve --panel-id %j is a usage error (64): decimal digits only', async (id) => {
    const r = await world.cli('resolve', 'pve1/100', `--panel-id=${id}`);
    expect(r.code, r.stderr).toBe(64);
    expect(r.stderr).toBe(`--panel-id must be the panel's VPS id, a positive whole number in decimal digits (e.g. 57), got "${id}"\n`);
  });

  it('resolve --panel-id 57 is well-formed (it then finds no ambiguous create to adopt)', async () => {
    const r = await world.cli('resolve', 'pve1/100', '--panel-id', '57');
    expect(r.stderr).not.toMatch(/--panel-id must/);
    expect(r.code).toBe(1);
  });

  it('no command: the usage on stderr, not stdout, exit 64; --help prints it on stdout, exit 0', async () => {
    const none = await world.cli();
    expect(none.code).toBe(64);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/^no command given\n\nospab-vps-sync — /);
    const help = await world.cli('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^ospab-vps-sync — /);
  });

  it('an option without its value: that one error and where to read more, not the whole usage', async () => {
    let out = '';
    let err = '';
    const sink = (append: (s: string) => void) => new Writable({ write: (chunk, _enc, cb) => (append(String(chunk)), cb()) });
    const code = await main(['status', '-c'], { env: {}, stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) });
    expect(code).toBe(64);
    expect(out).toBe('');
    expect(err).toMatch(/^Option '-c, --config <value>' argument missing\nTry "ospab-vps-sync --help"\.\n$/);
  });

  it('unknown commands and options exit 64 with the usage', async () => {
    expect((await world.cli('frobnicate')).code).toBe(64);
    const r = await world.cli('status', '--force');
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/"status" does not take --force/);
  });
});
