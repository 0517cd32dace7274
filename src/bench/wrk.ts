// Optional second opinion on floor (b): `wrk` (C, one thread) with the same create body and
// concurrency, when it is installed (`apt-get install wrk`). Its client costs far less CPU than
// any Node client, so on a 2-core machine it shows what the panel simulator can do when the
// load generator takes almost nothing from it.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Requests per second wrk reached, or null when wrk is not installed. */
export async function wrkCreatesPerSecond(url: string, apiKey: string, concurrency: number, seconds: number, dir: string): Promise<number | null> {
  const script = join(dir, 'wrk-create.lua');
  const body = JSON.stringify({ action: 'create', vps: { user_id: 1, name: 'wrk.example.net', cpu: 2, ram: 4096, disk: 40, os: 'Debian 12', status: 'running', hypervisor: 'proxmox' } });
  writeFileSync(
    script,
    [
      'wrk.method = "POST"',
      `wrk.body = ${JSON.stringify(body)}`,
      'wrk.headers["Content-Type"] = "application/json"',
      `wrk.headers["X-API-Key"] = ${JSON.stringify(apiKey)}`,
      '',
    ].join('\n'),
  );
  try {
    const { stdout } = await run('wrk', ['-t1', `-c${concurrency}`, `-d${seconds}s`, '-s', script, `${url}/api/vps/sync`], { timeout: (seconds + 30) * 1000 });
    const m = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
    if (/Non-2xx/.test(stdout)) throw new Error(`wrk saw non-2xx answers:\n${stdout}`);
    return m ? Number(m[1]) : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
