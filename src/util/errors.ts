// Turning anything thrown into one readable line, causes included.

/** The message of an error and its causes, joined: "listing VMs: connect ECONNREFUSED 127.0.0.1:8006". */
export function errorMessage(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const message = current instanceof Error ? current.message : String(current);
    if (message && !parts.some((p) => p.includes(message))) parts.push(message);
    current = current instanceof Error ? (current as Error & { cause?: unknown }).cause : undefined;
  }
  return parts.join(': ').replace(/\s+/g, ' ').trim() || 'unknown error';
}
