// The API endpoints of one Proxmox cluster: `url`, then `fallbackUrls`. Every node's pveproxy
// serves the same cluster-wide `/cluster/resources`, so any node can list the whole cluster;
// which one is asked first is sticky (see `inOrder`).
import { printable } from './text.js';

/** One node's API base, parsed. */
export interface Endpoint {
  /** Where it sits in the config: 0 is `url`, 1… are `fallbackUrls[0]`… */
  readonly index: number;
  readonly url: URL;
  /** What messages and logs call it: the origin, plus a base path behind a reverse proxy. */
  readonly label: string;
  /** The path prefix of the configured URL (behind a reverse proxy), '' normally. */
  readonly basePath: string;
}

/** The config key an endpoint came from, for messages. */
export function endpointKey(index: number): string {
  return index === 0 ? 'url' : `fallbackUrls[${index - 1}]`;
}

/**
 * Parses `url` and `fallbackUrls` in config order; a URL that cannot be used is returned as a
 * problem naming its key (the config schema refuses these, so only a hand-built config gets here).
 */
export function parseEndpoints(url: string, fallbackUrls: readonly string[] = []): Endpoint[] | { problem: string } {
  const endpoints: Endpoint[] = [];
  for (const [index, text] of [url, ...fallbackUrls].entries()) {
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      return { problem: `${endpointKey(index)} "${printable(text, 100)}" is not a URL` };
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
      return { problem: `${endpointKey(index)} must be http:// or https://, got ${parsed.protocol}` };
    }
    const basePath = parsed.pathname.replace(/\/+$/, '');
    endpoints.push({ index, url: parsed, label: parsed.origin + basePath, basePath });
  }
  return endpoints;
}

/**
 * The endpoints in the order to try them: from the one at `first` (the last that listed the cluster) on,
 * then round to the start. Sticky, so a dead primary costs one failed attempt when it dies, not
 * one on every pass; the order stays the configured one otherwise, so operators can predict it.
 */
export function inOrder(endpoints: readonly Endpoint[], first: number): Endpoint[] {
  const at = first > 0 && first < endpoints.length ? first : 0;
  return [...endpoints.slice(at), ...endpoints.slice(0, at)];
}
