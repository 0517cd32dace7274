// Parses `http.listen` ("host:port", "[::1]:port") and formats the URL a bound server answers on.
import { isIP } from 'node:net';

/** Loopback by default: the endpoints are for the local Prometheus and operators, not the world. */
export const DEFAULT_LISTEN = '127.0.0.1:9477';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** Parses a listen address; throws an error naming the bad value and the expected shape. */
export function parseListen(listen: string): ListenAddress {
  const value = listen.trim();
  const bad = (why: string): Error =>
    new Error(`http.listen "${listen}": ${why} (expected host:port, e.g. 127.0.0.1:9477 or [::1]:9477)`);
  if (value === '') throw bad('is empty (an empty listen disables the HTTP server; do not start one)');
  let host: string;
  let portText: string;
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close < 0 || value[close + 1] !== ':') throw bad('IPv6 address must be in brackets followed by :port');
    host = value.slice(1, close);
    portText = value.slice(close + 2);
    if (isIP(host) !== 6) throw bad(`"${host}" is not an IPv6 address`);
  } else {
    const colon = value.lastIndexOf(':');
    if (colon <= 0) throw bad('missing host or port');
    host = value.slice(0, colon);
    portText = value.slice(colon + 1);
    if (host.includes(':')) throw bad('put an IPv6 address in brackets');
  }
  if (!/^\d{1,5}$/.test(portText)) throw bad(`port "${portText}" is not a number`);
  const port = Number(portText);
  if (port > 65535) throw bad(`port ${port} is out of range`);
  return { host, port };
}

/** The base URL for a bound address (IPv6 in brackets). */
export function formatUrl(host: string, port: number): string {
  return `http://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}
