// Masks secrets before anything is printed, logged or served: the one place that knows which
// config values are secret.
import type { Config } from './schema.js';

const MASK = '***';

/** Replaces the password of a connection URL with `***`; leaves a plain path untouched. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = MASK;
    return u.toString();
  } catch {
    return url;
  }
}

/** The effective config with every secret masked, for `check-config`, `/status` and logs. */
export function redactConfig(config: Config): unknown {
  return {
    ...config,
    panel: { ...config.panel, apiKey: MASK },
    billing: { ...config.billing, url: redactUrl(config.billing.url) },
    http: { ...config.http, ...(config.http.adminToken !== undefined ? { adminToken: MASK } : {}) },
    sources: config.sources.map((s) => (s.type === 'proxmox' ? { ...s, tokenSecret: MASK } : { ...s, password: MASK })),
  };
}

/** Every secret value of a config, so free text (error messages) can be scrubbed of them. */
export function secretValues(config: Config): string[] {
  const values = [config.panel.apiKey, config.http.adminToken];
  try {
    const u = new URL(config.billing.url);
    if (u.password) values.push(u.password, decodeURIComponent(u.password));
  } catch {
    // a file path has no password
  }
  for (const s of config.sources) values.push(s.type === 'proxmox' ? s.tokenSecret : s.password);
  return values.filter((v): v is string => typeof v === 'string' && v.length >= 4);
}

/** Replaces any occurrence of a known secret in a message with `***`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(MASK);
  return out;
}
