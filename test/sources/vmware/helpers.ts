// Shared set-up for the vSphere source tests: a simulator over real HTTPS, its CA in a file,
// a parsed config and a logger whose output the tests can search.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { vmwareSourceSchema, type VmwareSourceConfig } from '../../../src/config/schema.js';
import { VsphereSimulator, type VsphereSimulatorOptions } from '../../../src/simulators/vsphere/server.js';
import { createLogger, type Logger } from '../../../src/util/logger.js';

export const USERNAME = 'sync@vsphere.local';
export const PASSWORD = 'S3cret-Pa55word!';

export interface SimHandle {
  readonly sim: VsphereSimulator;
  readonly url: string;
  readonly caFile: string;
  stop(): Promise<void>;
}

/** Starts a simulator on 127.0.0.1:0 and writes its certificate where a config can point. */
export async function startSim(options: Partial<VsphereSimulatorOptions> = {}): Promise<SimHandle> {
  const sim = new VsphereSimulator({ username: USERNAME, password: PASSWORD, ...options });
  const { url, caPem } = await sim.start();
  const dir = await mkdtemp(join(tmpdir(), 'vsphere-test-'));
  const caFile = join(dir, 'ca.pem');
  await writeFile(caFile, caPem);
  return {
    sim,
    url,
    caFile,
    async stop() {
      await sim.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A validated `type: vmware` config for the simulator (defaults applied by the real schema). */
export function sourceConfig(handle: SimHandle, overrides: Record<string, unknown> = {}): VmwareSourceConfig {
  return vmwareSourceSchema.parse({
    name: 'vc1',
    type: 'vmware',
    url: handle.url,
    username: USERNAME,
    password: PASSWORD,
    tls: { caFile: handle.caFile },
    timeoutMs: 5_000,
    ...overrides,
  });
}

/** A debug-level logger writing JSON lines into an array. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      callback();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), lines };
}

/** A never-aborting signal for calls that are not about cancellation. */
export function noAbort(): AbortSignal {
  return new AbortController().signal;
}
