#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=8
// The `ospab-vps-sync` executable.
import { main } from './cli/main.js';

const code = await main(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr });
// Let pino flush, then leave with the command's code even if a socket is still lingering.
process.exitCode = code;
setTimeout(() => process.exit(code), 200).unref();
