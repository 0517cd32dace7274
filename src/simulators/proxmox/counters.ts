// Requests received per API path, so tests and the benchmark can prove how many calls a pass makes.

export class RequestCounters {
  private readonly counts = new Map<string, number>();

  /** Counts one request to `path` (pathname, no query). */
  hit(path: string): void {
    this.counts.set(path, (this.counts.get(path) ?? 0) + 1);
  }

  /** Requests received for one path. */
  get(path: string): number {
    return this.counts.get(path) ?? 0;
  }

  /** Requests received over all paths. */
  total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }

  /** Every path with its count. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  /** Starts counting from zero. */
  reset(): void {
    this.counts.clear();
  }
}
