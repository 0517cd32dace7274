// Reads `billing.url` for each driver, and builds the scrubber that keeps its password out of
// every message we produce from a driver error.
import { fileURLToPath } from 'node:url';
import { redactUrl } from '../config/redact.js';
import type { BillingConfig } from '../config/schema.js';

/** Host, port and credentials of a network database, decoded from its URL. */
export interface NetworkTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly database: string | undefined;
}

const SCHEMES: Record<'mysql' | 'postgres', { protocols: readonly string[]; port: number; example: string }> = {
  mysql: { protocols: ['mysql:', 'mariadb:'], port: 3306, example: 'mysql://user:pass@host:3306/db' },
  postgres: { protocols: ['postgres:', 'postgresql:'], port: 5432, example: 'postgres://user:pass@host:5432/db' },
};

/** Parses `mysql://…` / `postgres://…`; throws a redacted one-line error when the URL does not fit the driver. */
export function parseNetworkUrl(url: string, driver: 'mysql' | 'postgres'): NetworkTarget {
  const scheme = SCHEMES[driver];
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`billing (${redactUrl(url)}): not a URL; driver "${driver}" needs ${scheme.example}`);
  }
  if (!scheme.protocols.includes(u.protocol) || u.hostname === '') {
    throw new Error(`billing (${redactUrl(url)}): driver "${driver}" needs ${scheme.example}`);
  }
  const decode = (v: string): string | undefined => (v === '' ? undefined : decodeURIComponent(v));
  // IPv6 literals come back bracketed from URL; the drivers want them bare.
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    host,
    port: u.port === '' ? scheme.port : Number(u.port),
    user: decode(u.username),
    password: decode(u.password),
    database: decode(u.pathname.replace(/^\//, '')),
  };
}

/** The file behind a SQLite `billing.url`: a plain path, `sqlite:/path`, `sqlite:///path`, `file:/path` or `file:///path`. */
export function sqlitePath(url: string): string {
  if (url.startsWith('file:')) {
    try {
      return fileURLToPath(new URL(url));
    } catch {
      return url.slice('file:'.length);
    }
  }
  if (url.startsWith('sqlite://')) return url.slice('sqlite://'.length);
  if (url.startsWith('sqlite:')) return url.slice('sqlite:'.length);
  return url;
}

/** How the database is named in messages and logs: the URL with its password masked, or the SQLite path. */
export function targetLabel(config: Pick<BillingConfig, 'driver' | 'url'>): string {
  return config.driver === 'sqlite' ? sqlitePath(config.url) : redactUrl(config.url);
}

/**
 * Returns a function that removes the URL's secrets from free text. Drivers sometimes echo the
 * connection string or the password (in either encoding) in their messages.
 */
export function urlScrubber(url: string): (text: string) => string {
  const replacements: [string, string][] = [[url, redactUrl(url)]];
  const shortSecrets: string[] = [];
  try {
    const u = new URL(url);
    if (u.password) {
      for (const secret of new Set([u.password, safeDecode(u.password)])) {
        // A very short password would mangle every message if replaced as a substring; mask it only as a whole word.
        if (secret.length >= 4) replacements.push([secret, '***']);
        else shortSecrets.push(secret);
      }
    }
  } catch {
    // a file path has no password
  }
  return (text: string): string => {
    let out = text;
    for (const [from, to] of replacements) if (out.includes(from)) out = out.split(from).join(to);
    for (const s of shortSecrets) out = out.replace(new RegExp(`(?<![\\w])${escapeRegExp(s)}(?![\\w])`, 'g'), '***');
    return out;
  };
}

function safeDecode(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
