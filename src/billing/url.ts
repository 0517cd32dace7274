// Reads `billing.url` for each driver, and builds the scrubber that keeps its password out of
// every message we produce from a driver error.
import { fileURLToPath } from 'node:url';
import { redactUrl, splitCredentials, tryDecode, urlPasswords, type CredentialParts } from '../config/redact.js';
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

/** Parses `mysql://…` / `postgres://…`; throws a redacted one-line error naming `billing.url` when the URL does not fit the driver. */
export function parseNetworkUrl(url: string, driver: 'mysql' | 'postgres'): NetworkTarget {
  const read = readNetworkUrl(url, driver);
  if ('problem' in read) throw new Error(`billing (${redactUrl(url)}): billing.url: ${read.problem}`);
  return read.target;
}

// C0 and DEL: URL silently drops a tab or line break (the driver would get another password).
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/**
 * Reads a network `billing.url`, or says what is wrong with it: `problem` is worded to follow
 * "billing.url: " and never quotes the user info (config load shows it as is, so it must not
 * carry the password). The one reading both `check-config` and the drivers use, so a URL that
 * passes the first cannot fail the second.
 */
export function readNetworkUrl(url: string, driver: 'mysql' | 'postgres'): { target: NetworkTarget } | { problem: string } {
  const scheme = SCHEMES[driver];
  const protocol = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(url)?.[1]?.toLowerCase();
  if (protocol === undefined) return { problem: `is not a URL; driver "${driver}" needs ${scheme.example}` };
  if (!scheme.protocols.includes(protocol)) return { problem: `driver "${driver}" needs ${scheme.example}` };
  if (CONTROL_CHARS.test(url)) return { problem: 'contains a control character (a tab, a line break, …); percent-encode it if it belongs to the password (a tab is %09)' };
  const parts = splitCredentials(url);
  // Checked before URL parses it: `mysql://u:1234?x@h/db` parses, with host "u", port 1234 and
  // the rest of the password as URL parameters.
  if (parts?.userinfo !== undefined && /[/?#]/.test(parts.userinfo)) {
    return { problem: "has a '#', '?' or '/' before its last '@': in the user name or password these must be percent-encoded (%23, %3F, %2F)" };
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { problem: unparseable(parts, driver) };
  }
  if (u.hostname === '') return { problem: `has no host; driver "${driver}" needs ${scheme.example}` };
  // Parameters were once ignored, so `?sslmode=require` connected in clear text. Their names are
  // not quoted: they are free text, and nothing says a password did not end up there.
  if (u.search !== '') {
    return {
      problem:
        "has URL parameters ('?…'), which are not read: remove them; TLS (sslmode=, ssl=) is set with billing.tls.enabled, billing.tls.caFile and billing.tls.insecure",
    };
  }
  if (u.hash !== '') return { problem: "has a '#' after the host: percent-encode it (%23) if it belongs to the database name" };
  const database = u.pathname.replace(/^\//, '');
  // decodeURIComponent throws a bare "URI malformed" on `50%off`: say which part and what to do.
  for (const [v, what] of [[u.username, 'user name'], [u.password, 'password'], [database, 'database name']] as const) {
    if (tryDecode(v) === undefined) return { problem: `the ${what} has a '%' that does not start a valid percent-encoding: percent-encode a literal % as %25` };
  }
  const decode = (v: string): string | undefined => (v === '' ? undefined : decodeURIComponent(v));
  // IPv6 literals come back bracketed from URL; the drivers want them bare.
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    target: { host, port: u.port === '' ? scheme.port : Number(u.port), user: decode(u.username), password: decode(u.password), database: decode(database) },
  };
}

/** Why URL refused it, as close as the text allows; the port is shown only after an '@' (before one it may be a password). */
function unparseable(parts: CredentialParts | undefined, driver: 'mysql' | 'postgres'): string {
  const authority = /^[^/?#]*/.exec(parts?.rest ?? '')?.[0] ?? '';
  const port = /^(?:\[[^\]]*\]|[^:]*):(.*)$/.exec(authority)?.[1];
  if (port !== undefined && port !== '' && !(/^\d+$/.test(port) && Number(port) <= 65535)) {
    return parts?.userinfo !== undefined
      ? `has port ${JSON.stringify(port.slice(0, 20))}, which is not a number from 0 to 65535`
      : `has a port that is not a number from 0 to 65535, or a password with no '@' and host after it; driver "${driver}" needs ${SCHEMES[driver].example}`;
  }
  if (authority === '' || authority.startsWith(':')) return `has no host; driver "${driver}" needs ${SCHEMES[driver].example}`;
  return 'is not a valid URL: check the host name, and percent-encode special characters in the user name and password';
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
  // Read from the text as written: an unparseable URL or a stray '%' still gives its password.
  for (const secret of urlPasswords(url)) {
    // A very short password would mangle every message if replaced as a substring; mask it only as a whole word.
    if (secret.length >= 4) replacements.push([secret, '***']);
    else shortSecrets.push(secret);
  }
  return (text: string): string => {
    let out = text;
    for (const [from, to] of replacements) if (out.includes(from)) out = out.split(from).join(to);
    for (const s of shortSecrets) out = out.replace(new RegExp(`(?<![\\w])${escapeRegExp(s)}(?![\\w])`, 'g'), '***');
    return out;
  };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
