#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=8
// The `ospab-vps-sync` executable.
import { listenForSignals } from './cli/signals.js';

const argv = process.argv.slice(2);
// `run` listens for its signals before anything else loads: until then Node's default for SIGHUP
// (a `systemctl reload` right after a restart) or SIGTERM ends the process (see cli/signals.ts).
const signals = argv.includes('run') ? listenForSignals() : undefined;
const { main } = await import('./cli/main.js');
const code = await main(argv, { env: process.env, stdout: process.stdout, stderr: process.stderr, ...(signals ? { signals } : {}) });
// Let pino flush, then leave with the command's code even if a socket is still lingering.
process.exitCode = code;
setTimeout(() => process.exit(code), 200).unref();
