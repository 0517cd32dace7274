// The daemon's signals as the process receives them, on a stand-in for `process`: what each
// sequence does (see src/cli/signals.ts for why they are listened for from the first line).
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { listenForSignals } from '../../src/cli/signals.js';

function setup() {
  const proc = new EventEmitter();
  const signals = listenForSignals(proc);
  const hups: boolean[] = [];
  const logged: string[] = [];
  const logger = { info: (m: string) => logged.push(m) };
  return { proc, signals, hups, logged, logger, onHup: (early: boolean) => hups.push(early) };
}

describe('the daemon signals', () => {
  it('a SIGHUP while starting is kept and handed over once the daemon runs, once', () => {
    const s = setup();
    s.proc.emit('SIGHUP');
    s.proc.emit('SIGHUP');
    expect(s.hups).toEqual([]);
    s.signals.handleHup(s.onHup);
    expect(s.hups).toEqual([true]);
    s.proc.emit('SIGHUP');
    expect(s.hups).toEqual([true, false]);
  });

  it('SIGTERM or SIGINT resolves `stopped` with the first of them', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const s = setup();
      expect(s.signals.stopRequested()).toBe(false);
      s.proc.emit(signal);
      expect(s.signals.stopRequested()).toBe(true);
      expect(await s.signals.stopped).toBe(signal);
    }
  });

  it('a SIGHUP while stopping, or after a stop signal, is logged and ignored', () => {
    const s = setup();
    s.signals.handleHup(s.onHup);
    s.proc.emit('SIGTERM');
    s.signals.stopping(s.logger);
    s.proc.emit('SIGHUP');
    expect(s.hups).toEqual([]);
    expect(s.logged).toEqual(['SIGHUP ignored: the daemon is stopping']);
  });

  it('a SIGHUP kept from starting is dropped when a stop signal came first', () => {
    const s = setup();
    s.proc.emit('SIGHUP');
    s.proc.emit('SIGTERM');
    s.signals.handleHup(s.onHup);
    expect(s.hups).toEqual([]);
  });

  it('listens until disposed, and only then', () => {
    const s = setup();
    expect(['SIGTERM', 'SIGINT', 'SIGHUP'].map((e) => s.proc.listenerCount(e))).toEqual([1, 1, 1]);
    s.signals.dispose();
    expect(['SIGTERM', 'SIGINT', 'SIGHUP'].map((e) => s.proc.listenerCount(e))).toEqual([0, 0, 0]);
  });
});
