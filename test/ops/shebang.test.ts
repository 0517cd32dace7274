// The executable's first line starts Node the way the systemd unit and the Dockerfile do:
// DAEMON_NODE_FLAGS on the command line and DAEMON_ENV in the environment (glibc reads the latter
// only at process start, so the daemon cannot set it itself). Run through `env -S` for real, so a
// line that env would split or refuse differently fails here, not on an operator's host.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DAEMON_ENV, DAEMON_NODE_FLAGS } from '../../src/util/heap.js';

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const shebang = readFileSync(cli, 'utf8').split('\n')[0]!;

describe('the ospab-vps-sync executable', () => {
  it('is run by env -S with the daemon environment and Node flags', () => {
    const assignments = Object.entries(DAEMON_ENV).map(([name, value]) => `${name}=${value}`);
    expect(shebang).toBe(`#!/usr/bin/env -S ${[...assignments, 'node', ...DAEMON_NODE_FLAGS].join(' ')}`);
  });

  it('gives the Node process that environment and those flags when env runs the line', async () => {
    // As the kernel does: the interpreter, then the rest of the line as ONE argument (env -S splits
    // it), then the script — here `-e` and a probe that reports what Node was given.
    const space = shebang.indexOf(' ');
    const interpreter = shebang.slice(2, space);
    const probe = `process.stdout.write(JSON.stringify({ env: Object.fromEntries(${JSON.stringify(Object.keys(DAEMON_ENV))}.map((k) => [k, process.env[k]])), execArgv: process.execArgv }))`;
    const { stdout } = await promisify(execFile)(interpreter, [`${shebang.slice(space + 1)} -e ${JSON.stringify(probe).replace(/ /g, '\\_')}`], {
      env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin` },
    });
    const seen = JSON.parse(stdout) as { env: Record<string, string>; execArgv: string[] };
    expect(seen.env).toEqual(DAEMON_ENV);
    expect(seen.execArgv).toEqual(expect.arrayContaining([...DAEMON_NODE_FLAGS]));
  });
});
