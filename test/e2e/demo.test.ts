// `npm run demo` must work on a fresh clone: run its unattended tour against the built daemon.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

it('the demo starts everything, syncs, and converges after a stop and a delete', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vps-sync-demo-'));
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['dist/demo/demo.js', '--check'], { env: { ...process.env, DEMO_DIR: join(dir, 'demo') }, timeout: 90_000 });
    expect(stdout).toMatch(/\(success\) the panel holds 30 VPSes/);
    expect(stdout).toMatch(/unbilled=4, billed_but_missing=1, suspended_but_running=2/);
    expect(stdout).toMatch(/demo check: ok/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
