// How guests listed without a state (a Proxmox node offline, an ESXi host vCenter has lost) are
// told to an operator: grouped by node or host, one line per source, the same words in the log,
// `plan` and `status`.
import type { UnreportedVm } from '../domain/types.js';

/** Unreported guests per node, most first (ties by name). */
export function unreportedByNode(unreported: readonly UnreportedVm[]): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const u of unreported) counts.set(u.node, (counts.get(u.node) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

/** `pve3 (10), pve4 (2)`, at most five nodes (or hosts) named. */
export function nodesText(nodes: ReadonlyArray<readonly [string, number]>): string {
  const shown = nodes.slice(0, 5).map(([node, n]) => `${node} (${n})`).join(', ');
  return nodes.length > 5 ? `${shown} and ${nodes.length - 5} more` : shown;
}

/** What an operator reads about a source's unreported guests (logs, plan). */
export function unreportedLine(source: string, count: number, nodes: ReadonlyArray<readonly [string, number]>): string {
  return `source ${source}: ${count} guest(s) listed without a state on ${nodesText(nodes)} — offline or not reporting to its cluster or vCenter; their panel VPSes are left as they are until it reports again`;
}
