// A small DaemonControl for HTTP tests: records requests, coalesces like the real scheduler promises to.
import { DRIFT_CLASSES, type DriftClass } from '../../src/domain/types.js';
import type { DaemonControl, DaemonStatus, PassRequest } from '../../src/engine/control.js';

export class FakeControl implements DaemonControl {
  lastSuccess: number | null = null;
  queuedFull: boolean | null = null;
  readonly requests: PassRequest[] = [];
  problems: string[] = [];
  /** Like the real daemon once stop() has begun: requests are refused, nothing is queued. */
  stopping = false;

  status(): DaemonStatus {
    const drift = Object.fromEntries(DRIFT_CLASSES.map((c) => [c, c === 'unbilled' ? 2 : 0])) as Record<DriftClass, number>;
    return {
      version: '0.1.0',
      startedAt: '2024-01-01T00:00:00.000Z',
      passRunning: false,
      lastSuccessAt: this.lastSuccess === null ? null : new Date(this.lastSuccess).toISOString(),
      lastFullResyncAt: null,
      billing: { up: true, lastError: null },
      sources: [{ name: 'pve1', kind: 'proxmox', up: true, vms: 12, lastError: null, lastListedAt: '2024-01-01T00:01:00.000Z', unreported: null, endpoint: null }],
      outbox: { pending: 1, failed: 0, ambiguous: 0, ambiguousKeys: [] },
      snapshot: { vps: 10 },
      lastPasses: [
        {
          id: 7, startedAt: '2024-01-01T00:00:50.000Z', finishedAt: '2024-01-01T00:01:00.000Z', result: 'success', full: false,
          durationSeconds: 10, actions: { planned: 1, ok: 1, failed: 0, ambiguous: 0 }, drift, problems: this.problems,
        },
      ],
    };
  }

  requestPass(options: PassRequest): { queued: boolean; coalesced: boolean } {
    if (this.stopping) return { queued: false, coalesced: false };
    this.requests.push(options);
    // As the real daemon answers: a coalesced request is queued too (the queued pass will run it).
    if (this.queuedFull !== null) {
      this.queuedFull ||= options.full;
      return { queued: true, coalesced: true };
    }
    this.queuedFull = options.full;
    return { queued: true, coalesced: false };
  }

  lastSuccessAtMs(): number | null {
    return this.lastSuccess;
  }
}
