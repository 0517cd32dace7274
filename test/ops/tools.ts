// Finds the external tools some ops tests need; tests skip with a clear message when one is missing.
import { spawnSync } from 'node:child_process';

/** The absolute path of an executable on PATH, or null. */
export function findTool(name: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = r.stdout.trim();
  return r.status === 0 && path !== '' ? path : null;
}

/** The message a skipped test prints, saying how to get the tool. */
export function missingToolMessage(tool: string, pkg: string): string {
  return `${tool} not found: skipping (install it with: apt-get install -y --no-install-recommends ${pkg})`;
}
