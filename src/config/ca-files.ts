// The CA files a config names, read the way the daemon will read them, so `check-config` catches
// a mistyped path or a file that holds no certificate before the service is restarted on it.
import { readFileSync } from 'node:fs';
import { ConfigValueError, readCaFile } from './load.js';
import type { Config } from './schema.js';

export interface CaFileReport {
  /** Keys whose file is missing or is not a PEM certificate: wrong for any user. */
  readonly problems: readonly string[];
  /**
   * Keys whose file this user may not read. `check-config` often runs as an administrator rather
   * than the service's user, who may well read it, so this is not a verdict.
   */
  readonly unreadable: readonly string[];
}

/**
 * Every CA file the daemon will read, with its key (`panel.caFile`, `sources[1].tls.caFile`, …).
 * Not a source's with `tls.insecure` nor billing's without `tls.enabled`: those are never read,
 * so a missing one must not make check-config refuse (78) a config the daemon runs with.
 */
export function caFilesOf(config: Config): Array<[key: string, path: string]> {
  const files: Array<[string, string]> = [];
  if (config.panel.caFile) files.push(['panel.caFile', config.panel.caFile]);
  config.sources.forEach((s, i) => {
    if (s.tls.caFile && !s.tls.insecure) files.push([`sources[${i}].tls.caFile`, s.tls.caFile]);
  });
  if (config.billing.tls?.caFile && config.billing.tls.enabled) files.push(['billing.tls.caFile', config.billing.tls.caFile]);
  return files;
}

/** Reads each CA file the config names and sorts what fails into problems and permission warnings. */
export function checkCaFiles(config: Config, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): CaFileReport {
  const problems: string[] = [];
  const unreadable: string[] = [];
  for (const [key, path] of caFilesOf(config)) {
    try {
      readCaFile(key, path, read);
    } catch (err) {
      if (!(err instanceof ConfigValueError)) throw err;
      (err.code === 'EACCES' || err.code === 'EPERM' ? unreadable : problems).push(err.message);
    }
  }
  return { problems, unreadable };
}
