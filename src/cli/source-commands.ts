// `rename-source` and `forget-source`: what an operator runs after renaming or removing a source
// in the config. Until then the daemon refuses to start (see unconfiguredSources in runtime.ts):
// a renamed source's VMs would otherwise all look new, and each customer would get a second VPS.
import type { Config } from '../config/schema.js';
import { StateStore } from '../store/state-store.js';
import { acquireWriterLock } from '../store/writer-lock.js';
import { CliExit, type CliIo } from './context.js';
import { EXIT } from './exit-codes.js';
import { giveToStateOwner, inspectStateFile, withStateFile } from './state-file.js';

/** `rename-source <old> <new>`: the config now calls source `old` `new`; its VPSes move over. */
export function renameSourceCommand(config: Config, from: string, to: string, io: CliIo): number {
  const target = config.sources.find((s) => s.name === to);
  if (!target) throw new CliExit(EXIT.usage, `source "${to}" is not in the config: rename it there first, then run this`);
  if (config.sources.some((s) => s.name === from)) throw new CliExit(EXIT.usage, `source "${from}" is still in the config: a rename moves what the state file holds of a source the config no longer has`);
  return withWritableStore(config, (store) => {
    const held = store.sourcesInState().find((s) => s.source === from);
    if (!held) throw new CliExit(EXIT.failure, `the state file holds nothing of source "${from}"`);
    // A Proxmox vmid is no vSphere id: VPSes moved across kinds would all look gone, and every VM new.
    if (held.hypervisor !== null && held.hypervisor !== target.type) {
      throw new CliExit(EXIT.usage, `source "${from}" holds ${held.hypervisor} VPSes and "${to}" is a ${target.type} source: that is not a rename`);
    }
    const moved = store.renameSource(from, to);
    io.stdout.write(`moved ${moved} VPS(es) and the open calls of source "${from}" to "${to}"; the next pass lists them under the new name\n`);
    return EXIT.ok;
  });
}

/** `forget-source <name>`: source `name` is gone for good; the state file stops holding its VPSes. */
export function forgetSourceCommand(config: Config, name: string, io: CliIo): number {
  if (config.sources.some((s) => s.name === name)) throw new CliExit(EXIT.usage, `source "${name}" is still in the config: remove it there first`);
  return withWritableStore(config, (store) => {
    if (!store.sourcesInState().some((s) => s.source === name)) throw new CliExit(EXIT.failure, `the state file holds nothing of source "${name}"`);
    const forgotten = store.forgetSource(name);
    io.stdout.write(`forgot ${forgotten} VPS(es) and the open calls of source "${name}"; their VPSes stay on the panel, no longer managed (delete them there if they should go)\n`);
    return EXIT.ok;
  });
}

/** Runs `fn` on the state file under the writer lock (75 while a daemon or `once` holds it). */
function withWritableStore(config: Config, fn: (store: StateStore) => number): number {
  if (inspectStateFile(config.stateFile) === 'missing') throw new CliExit(EXIT.failure, `no state file at ${config.stateFile}`);
  const lock = withStateFile(config.stateFile, () => acquireWriterLock(config.stateFile));
  const store = new StateStore({ path: config.stateFile });
  try {
    withStateFile(config.stateFile, () => store.open());
    giveToStateOwner(config.stateFile);
    return fn(store);
  } finally {
    store.close();
    lock.release();
  }
}
