// The build's version, read once from package.json next to dist/.
import { readFileSync } from 'node:fs';

/** This build's version (package.json), or "unknown" if it cannot be read. */
export function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
