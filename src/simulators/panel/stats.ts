// Request counters of the simulator: by action and by how the request ended.

/** Counts of requests to `/api/vps/sync`. `byResult` keys are HTTP statuses, `reset` or `abandoned`. */
export interface SimStats {
  total: number;
  byAction: Record<string, number>;
  byResult: Record<string, number>;
}

/** Mutable counters; cheap enough to bump on the hot path. */
export class StatsCounter {
  private stats: SimStats = emptyStats();

  /** Counts one request by its action (`invalid` when the body has none). */
  countAction(action: string | null): void {
    this.stats.total++;
    const key = action ?? 'invalid';
    this.stats.byAction[key] = (this.stats.byAction[key] ?? 0) + 1;
  }

  /** Counts how one request ended: an HTTP status, `reset` (socket dropped) or `abandoned` (client left first). */
  countResult(result: number | 'reset' | 'abandoned'): void {
    const key = String(result);
    this.stats.byResult[key] = (this.stats.byResult[key] ?? 0) + 1;
  }

  /** A copy of the counters. */
  read(): SimStats {
    return { total: this.stats.total, byAction: { ...this.stats.byAction }, byResult: { ...this.stats.byResult } };
  }

  /** Zeroes every counter. */
  clear(): void {
    this.stats = emptyStats();
  }
}

function emptyStats(): SimStats {
  return { total: 0, byAction: {}, byResult: {} };
}
