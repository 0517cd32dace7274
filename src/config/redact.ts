// Masks secrets before anything is printed, logged or served: the one place that knows which
// config values are secret.
import type { Config } from './schema.js';

const MASK = '***';

/** `scheme://` (or a bare `scheme:`) at the start of a connection string. */
const SCHEME = /^[a-z][a-z0-9+.-]*:(?:\/\/)?/i;

/** A connection string cut where a person reads it: `prefix` `user[:password]@` `rest`. */
export interface CredentialParts {
  /** `mysql://` */
  readonly prefix: string;
  /** Everything before the last '@', as written (undefined when there is no '@'). */
  readonly userinfo: string | undefined;
  readonly user: string | undefined;
  /** As written, not decoded; undefined when the userinfo has no ':'. */
  readonly password: string | undefined;
  /** Host, port, path and anything after, as written. */
  readonly rest: string;
}

/**
 * Splits a connection string without WHATWG URL: what stands between `scheme://` and the LAST '@'
 * is `user:password`. A password with an unencoded '#', '?' or '/' makes URL throw (or, worse,
 * parse with part of the password as host and port), so masking and scrubbing must not depend
 * on URL agreeing. Undefined for a plain path (no scheme), which has no credentials.
 */
export function splitCredentials(url: string): CredentialParts | undefined {
  const prefix = SCHEME.exec(url)?.[0];
  if (prefix === undefined) return undefined;
  const body = url.slice(prefix.length);
  const at = body.lastIndexOf('@');
  if (at < 0) return { prefix, userinfo: undefined, user: undefined, password: undefined, rest: body };
  const userinfo = body.slice(0, at);
  const colon = userinfo.indexOf(':');
  return {
    prefix,
    userinfo,
    user: colon < 0 ? userinfo : userinfo.slice(0, colon),
    password: colon < 0 ? undefined : userinfo.slice(colon + 1),
    rest: body.slice(at + 1),
  };
}

/** `decodeURIComponent`, or undefined for a '%' that starts no valid escape (`50%off`). */
export function tryDecode(v: string): string | undefined {
  try {
    return decodeURIComponent(v);
  } catch {
    return undefined;
  }
}

/**
 * Replaces the password of a connection URL with `***` (and URL parameters, which could carry
 * one, with `?***`); leaves a plain path untouched. Works on the text as written, so a URL that
 * does not parse is masked too.
 */
export function redactUrl(url: string): string {
  const parts = splitCredentials(url);
  if (parts === undefined) return url;
  const rest = maskQuery(parts.rest);
  if (parts.userinfo === undefined) {
    // No '@', so no credentials by the grammar; but when URL cannot read the host and port
    // (`mysql://sync:pw/db`, the host forgotten) what follows ':' may be a password: mask it.
    return parts.prefix + (parses(url) ? rest : rest.replace(/^([^/?#:]*):[^/?#]*/, `$1:${MASK}`));
  }
  const userinfo = parts.password ? `${parts.user}:${MASK}` : parts.userinfo;
  return `${parts.prefix}${userinfo}@${rest}`;
}

function maskQuery(text: string): string {
  const q = text.indexOf('?');
  return q < 0 ? text : `${text.slice(0, q)}?${MASK}`;
}

function parses(url: string): boolean {
  try {
    new URL(url);
    return true;
  } catch {
    return false;
  }
}

/**
 * The password of a connection URL in every spelling a message may carry it: as written,
 * percent-decoded, and as URL re-encodes it. Read from the text as written first, so an
 * unparseable URL or an undecodable '%' still yields it. Empty when there is none.
 */
export function urlPasswords(url: string): string[] {
  const raw = splitCredentials(url)?.password;
  if (!raw) return [];
  const out = new Set<string>([raw]);
  const decoded = tryDecode(raw);
  if (decoded !== undefined) out.add(decoded);
  try {
    const p = new URL(url).password;
    if (p) {
      out.add(p);
      const d = tryDecode(p);
      if (d !== undefined) out.add(d);
    }
  } catch {
    // the raw spellings above are all there is
  }
  return [...out];
}

/**
 * An http(s) URL with its userinfo (`user:pass@`, or a lone token before '@') replaced by `***`.
 * The panel and the hypervisors authenticate with a header, so userinfo there is a mistake — but
 * one that holds a password as surely as billing.url does.
 */
export function redactHttpUrl(url: string): string {
  const parts = splitCredentials(url);
  return parts?.userinfo === undefined ? url : `${parts.prefix}${MASK}@${parts.rest}`;
}

/** The effective config with every secret masked, for `check-config`, `/status` and logs. */
export function redactConfig(config: Config): unknown {
  return {
    ...config,
    panel: { ...config.panel, url: redactHttpUrl(config.panel.url), apiKey: MASK },
    billing: { ...config.billing, url: redactUrl(config.billing.url) },
    http: { ...config.http, ...(config.http.adminToken !== undefined ? { adminToken: MASK } : {}) },
    sources: config.sources.map((s) => {
      const urls = { url: redactHttpUrl(s.url), ...('fallbackUrls' in s && s.fallbackUrls ? { fallbackUrls: s.fallbackUrls.map(redactHttpUrl) } : {}) };
      return s.type === 'proxmox' ? { ...s, ...urls, tokenSecret: MASK } : { ...s, ...urls, password: MASK };
    }),
  };
}

/** Every secret value of a config, so free text (error messages) can be scrubbed of them. */
export function secretValues(config: Config): string[] {
  const values = [config.panel.apiKey, config.http.adminToken, ...urlPasswords(config.billing.url), ...urlPasswords(config.panel.url)];
  for (const s of config.sources) {
    values.push(...urlPasswords(s.url), ...('fallbackUrls' in s ? (s.fallbackUrls ?? []).flatMap(urlPasswords) : []));
    if (s.type === 'proxmox') values.push(s.tokenSecret);
    // The password also travels as HTTP Basic credentials: a proxy echoing the header shows that form.
    else values.push(s.password, Buffer.from(`${s.username}:${s.password}`).toString('base64'));
  }
  return values.filter((v): v is string => typeof v === 'string' && v.length >= 4);
}

/** Replaces any occurrence of a known secret in a message with `***`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(MASK);
  return out;
}
