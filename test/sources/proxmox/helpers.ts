// Shared set-up for the Proxmox source tests: a simulator over real HTTPS on loopback,
// its certificate written to a CA file, and a config built through the real config schema.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { proxmoxSourceSchema, type ProxmoxSourceConfig } from '../../../src/config/schema.js';
import { ProxmoxSimulator } from '../../../src/simulators/proxmox/index.js';
import { createProxmoxSource } from '../../../src/sources/proxmox/index.js';
import type { VmSource } from '../../../src/domain/ports.js';

export const TOKEN_ID = 'sync@pve!daemon';
export const TOKEN_SECRET = '3f1c2a9e-8b7d-4e6f-a5c4-0d9e8f7a6b5c';

export interface Harness {
  sim: ProxmoxSimulator;
  url: string;
  caFile: string;
  dir: string;
  /** A source config for the simulator (CA trusted), with overrides. */
  config(overrides?: Record<string, unknown>): ProxmoxSourceConfig;
  /** A source for the simulator, closed by `close()`. */
  source(overrides?: Record<string, unknown>): VmSource;
  close(): Promise<void>;
}

/** Starts a simulator (HTTPS unless told otherwise) and returns helpers around it. */
export async function startHarness(options: { tls?: boolean } = {}): Promise<Harness> {
  const sim = new ProxmoxSimulator({ tokens: [{ tokenId: TOKEN_ID, secret: TOKEN_SECRET }], tls: options.tls ?? true });
  const { url, caPem } = await sim.start();
  const dir = await mkdtemp(join(tmpdir(), 'pve-test-'));
  const caFile = join(dir, 'pve-root-ca.pem');
  await writeFile(caFile, caPem);
  const sources: VmSource[] = [];
  const config = (overrides: Record<string, unknown> = {}) =>
    proxmoxSourceSchema.parse({ name: 'pve1', type: 'proxmox', url, tokenId: TOKEN_ID, tokenSecret: TOKEN_SECRET, tls: { caFile }, timeoutMs: 5000, ...overrides });
  return {
    sim,
    url,
    caFile,
    dir,
    config,
    source(overrides) {
      const s = createProxmoxSource(config(overrides), { logger: pino({ level: 'silent' }) });
      sources.push(s);
      return s;
    },
    async close() {
      await Promise.all(sources.map((s) => s.close()));
      await sim.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A signal that never fires. */
export function never(): AbortSignal {
  return new AbortController().signal;
}

/** Runs `fn`, expecting it to throw; returns the error. */
export async function failure(fn: () => Promise<unknown>): Promise<Error & { reason?: string; cause?: unknown }> {
  try {
    await fn();
  } catch (err) {
    return err as Error & { reason?: string };
  }
  throw new Error('expected a failure, got success');
}

const GIB = 1024 ** 3;
export const GB = GIB;

/** Everything an error could leak through: message, stack, causes, own fields. */
export function everything(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let i = 0; i < 8 && e; i++) {
    parts.push(String(e), e instanceof Error ? (e.stack ?? '') : '', JSON.stringify(e, Object.getOwnPropertyNames(e ?? {})));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join('\n');
}
