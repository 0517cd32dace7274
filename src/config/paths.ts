// Relative file paths in a config are taken from the config file's directory, as Prometheus and
// nginx do. Taken from the working directory instead, they would name another file under systemd
// (which starts the daemon in /) than in `check-config` run from /etc/ospab-vps-sync.
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Config } from './schema.js';

/** The config with its relative CA files (and a plain relative SQLite billing path) made absolute against `configPath`'s directory. */
export function withAbsolutePaths(config: Config, configPath: string): Config {
  const base = dirname(resolve(configPath));
  const abs = <T extends string | undefined>(p: T): T => (p === undefined || isAbsolute(p) ? p : (resolve(base, p) as T));
  return {
    ...config,
    panel: { ...config.panel, ...(config.panel.caFile !== undefined ? { caFile: abs(config.panel.caFile) } : {}) },
    sources: config.sources.map((s) => (s.tls.caFile !== undefined ? { ...s, tls: { ...s.tls, caFile: abs(s.tls.caFile) } } : s)),
    billing: {
      ...config.billing,
      // Only a bare path: a file: or sqlite: URL says what it means.
      ...(config.billing.driver === 'sqlite' && config.billing.url !== ':memory:' && !/^[a-z][a-z0-9+.-]*:/i.test(config.billing.url) ? { url: abs(config.billing.url) } : {}),
      ...(config.billing.tls?.caFile !== undefined ? { tls: { ...config.billing.tls, caFile: abs(config.billing.tls.caFile) } } : {}),
    },
  };
}
