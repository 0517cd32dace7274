// Shared fixtures of the panel client tests: keys, fields, and a logger whose output the test can read.
import { Writable } from 'node:stream';
import type { PanelFields } from '../../src/domain/types.js';
import { createLogger, type Logger } from '../../src/util/logger.js';

export const API_KEY = 'client-test-key-5f1e9a7c3b2d4e6f8a0b1c2d3e4f';
export const WRONG_KEY = 'wrong-client-key-00000000000000000000000000';

export const FIELDS: PanelFields = {
  user_id: 5, name: 'web-1', cpu: 2, ram: 8192, disk: 50, os: 'Ubuntu 22.04 LTS', status: 'running', hypervisor: 'proxmox',
};

/** A debug-level logger that keeps every line it writes, so tests can check no secret is logged. */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', pretty: false, destination }), lines };
}

/** The first run of `n` characters of `secret` found in `text`, or null: a secret must not leak even in part. */
export function leakedPart(text: string, secret: string, n = 8): string | null {
  for (let i = 0; i + n <= secret.length; i++) if (text.includes(secret.slice(i, i + n))) return secret.slice(i, i + n);
  return null;
}
