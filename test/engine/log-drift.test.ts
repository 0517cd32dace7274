// Drift lines in the daemon's log: a lasting problem is logged when it appears, not every pass;
// drift the daemon fixes by itself is a debug line, and is not remembered when nobody sees those.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { DriftItem } from '../../src/domain/types.js';
import { logDrift } from '../../src/engine/daemon.js';
import { createLogger } from '../../src/util/logger.js';

function capture(level: 'info' | 'debug') {
  const lines: { level: number; msg: string; vm?: string }[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger({ level, destination }), lines };
}

const suspended = (key: string): DriftItem => ({ class: 'suspended_but_running', key, billingId: '7', userId: 7, detail: `${key} runs although billing says suspended` });
const missing = (key: string): DriftItem => ({ class: 'missing_on_panel', key, userId: 7, billingId: '7', detail: `${key} is not on the panel` });

describe('logDrift', () => {
  const cases: { name: string; level: 'info' | 'debug'; passes: DriftItem[][]; logged: string[][]; remembered: number }[] = [
    {
      name: 'a lasting problem once, again after it went away and came back',
      level: 'info',
      passes: [[suspended('pve/1')], [suspended('pve/1')], [], [suspended('pve/1'), suspended('pve/2')]],
      logged: [['pve/1'], [], [], ['pve/1', 'pve/2']],
      remembered: 2,
    },
    {
      name: 'panel-side drift at info level: neither logged nor remembered',
      level: 'info',
      passes: [[missing('pve/1'), missing('pve/2'), suspended('pve/3')], [missing('pve/1'), suspended('pve/3')]],
      logged: [['pve/3'], []],
      remembered: 1,
    },
    {
      name: 'panel-side drift at debug level: a debug line when it appears',
      level: 'debug',
      passes: [[missing('pve/1')], [missing('pve/1'), missing('pve/2')]],
      logged: [['pve/1'], ['pve/2']],
      remembered: 2,
    },
  ];
  it.each(cases)('$name', ({ level, passes, logged, remembered }) => {
    const { logger, lines } = capture(level);
    let previous = new Set<string>();
    passes.forEach((drift, i) => {
      const before = lines.length;
      previous = logDrift(logger, drift, previous);
      expect(lines.slice(before).map((l) => l.vm), `pass ${i + 1}`).toEqual(logged[i]);
    });
    expect(previous.size).toBe(remembered);
    for (const l of lines) expect(l.level).toBe(l.msg.includes('suspended') ? 40 : 20);
  });
});
