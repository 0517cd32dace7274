// A circuit breaker in front of the panel. When the panel keeps failing, hammering it with a
// pass's worth of requests helps nobody and floods the logs; after a cooldown one request
// probes it, and success closes the circuit again.
import type { Clock } from '../domain/ports.js';

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerSettings {
  /** Consecutive failures that open the circuit. */
  readonly threshold: number;
  readonly cooldownMs: number;
}

/** Tracks consecutive panel failures across passes (in memory; a restart starts closed). */
export class PanelBreaker {
  private failures = 0;
  private openedAt: number | null = null;
  private probing = false;

  constructor(
    private readonly settings: BreakerSettings,
    private readonly clock: Clock,
  ) {}

  /** Current state, for logs and /status. */
  state(): BreakerState {
    if (this.openedAt === null) return 'closed';
    // Negative when the wall clock was set back since the circuit opened: probe now rather than
    // hold every panel call for as long as the clock jumped.
    const openForMs = this.clock.now() - this.openedAt;
    return openForMs >= this.settings.cooldownMs || openForMs < 0 ? 'half_open' : 'open';
  }

  /** Whether one more request may be sent now; in half-open state only one probe at a time. */
  tryAcquire(): boolean {
    const state = this.state();
    if (state === 'closed') return true;
    if (state === 'open' || this.probing) return false;
    this.probing = true;
    return true;
  }

  /** The panel answered (any answer that proves it is up, even a 400). */
  onSuccess(): void {
    this.failures = 0;
    this.openedAt = null;
    this.probing = false;
  }

  /**
   * A request let through by `tryAcquire()` was never sent (its journal write failed). Without
   * this a half-open probe that never happened would hold the circuit shut for the process's life.
   */
  release(): void {
    this.probing = false;
  }

  /** The panel did not answer usefully (network error, 5xx, timeout). */
  onFailure(): void {
    this.failures++;
    if (this.probing || this.failures >= this.settings.threshold) this.openedAt = this.clock.now();
    this.probing = false;
  }
}
