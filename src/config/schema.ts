// The configuration file's schema: the one place that says what a valid config is.
// Defaults live here too, so `check-config` can print the effective values.
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { Cron } from 'croner';
import { readNetworkUrl } from '../billing/url.js';
import { parseListen } from '../http/listen.js';

const nonEmpty = z.string().trim().min(1, 'must not be empty');
const positiveInt = z.number().int().positive();

// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * A secret sent as an HTTP header token (the panel's `x-api-key`, the admin `Bearer` token).
 * Surrounding whitespace is trimmed: a YAML block scalar (`apiKey: |`) or a credential file
 * keeps a trailing newline that no client sends back, so every call would fail. What remains
 * must be visible ASCII: a header cannot carry a control character, carries other non-ASCII as
 * Latin-1 at best (above U+00FF not at all), and `Bearer <token>` ends at the first space. The
 * message never quotes the value.
 */
function headerToken(min: number, tooShort: string) {
  return z
    .string()
    .trim()
    .min(min, tooShort)
    .superRefine((v, ctx) => {
      if (/^[\x21-\x7e]*$/.test(v)) return;
      const message = /\s/.test(v)
        ? 'contains whitespace (a space, tab or line break), which an HTTP header token cannot carry'
        : CONTROL_CHARS.test(v)
          ? 'contains a control character, which an HTTP header cannot carry'
          : 'contains a non-ASCII character, which an HTTP header token cannot carry';
      ctx.addIssue({ code: 'custom', message });
    });
}

const httpUrl = nonEmpty.refine((v) => {
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}, 'must be an http:// or https:// URL');

const tlsSchema = z
  .strictObject({
    /** PEM file with the CA (or the self-signed certificate itself) to trust. */
    caFile: nonEmpty.optional(),
    /** Turns verification off. Must be said explicitly; never the default. */
    insecure: z.boolean().default(false),
  })
  .default({ insecure: false });

/**
 * `http.listen` is read here with the parser the server uses, so a value it would refuse
 * ("localhost" without a port) fails `check-config` and start-up with exit 78 instead of
 * passing validation and then failing every (re)start of the unit.
 */
function checkListen(listen: string, ctx: z.RefinementCtx): void {
  if (listen === '') return; // disables the endpoints
  if (listen.trim() === '') {
    ctx.addIssue({ code: 'custom', message: 'is only whitespace: use "" to disable the HTTP endpoints, or host:port (e.g. 127.0.0.1:9477)' });
    return;
  }
  try {
    parseListen(listen);
  } catch (err) {
    // parseListen names the key itself; the path printed before the message already does.
    ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(/^http\.listen /, '') });
  }
}

const sourceName = nonEmpty.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'use letters, digits, "-", "_" or "." (it becomes part of every VM key)');

const stringList = z.array(nonEmpty).optional();

/** Regular expressions, compiled here so a typo fails check-config rather than every listing. */
const regexList = z
  .array(
    nonEmpty.superRefine((pattern, ctx) => {
      try {
        new RegExp(pattern);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `is not a valid regular expression: ${(err as Error).message}` });
      }
    }),
  )
  .optional();

const proxmoxFilter = z
  .strictObject({ nodes: stringList, pools: stringList, tags: stringList })
  .optional();

/** What makes two API URLs the same endpoint: scheme, host, port and base path (`https://h:8006/` = `https://h:8006`). */
function sameEndpointKey(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

/**
 * `url` and `fallbackUrls` name different endpoints: a duplicate would only repeat a failed
 * attempt (and usually means a node was meant that is not listed).
 */
function checkEndpoints(source: { url: string; fallbackUrls?: string[] | undefined }, ctx: z.RefinementCtx): void {
  const seen = new Map<string, string>();
  [source.url, ...(source.fallbackUrls ?? [])].forEach((url, i) => {
    let key: string;
    try {
      key = sameEndpointKey(url);
    } catch {
      return; // not a URL: its own key already says so
    }
    const first = seen.get(key);
    if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['fallbackUrls', i - 1], message: `is the same endpoint as ${first}: list each node of the cluster once` });
    else seen.set(key, i === 0 ? 'url' : `fallbackUrls[${i - 1}]`);
  });
}

export const proxmoxSourceSchema = z
  .strictObject({
    name: sourceName,
    type: z.literal('proxmox'),
    /** The API of one cluster node, asked first. */
    url: httpUrl,
    /** Other nodes of the same cluster, asked in order when the one asked cannot answer (see client.ts). */
    fallbackUrls: z.array(httpUrl).optional(),
    /** `USER@REALM!TOKENID` */
    tokenId: nonEmpty.regex(/^[^@\s]+@[^!\s]+![^\s]+$/, 'must look like USER@REALM!TOKENID, e.g. sync@pve!daemon'),
    /** The token's UUID secret. Secret: also from env/credentials. */
    tokenSecret: nonEmpty.regex(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      'must be the token secret Proxmox showed (a lowercase UUID)',
    ),
    tls: tlsSchema,
    timeoutMs: positiveInt.default(15_000),
    include: proxmoxFilter,
    exclude: proxmoxFilter,
  })
  .superRefine(checkEndpoints);

export const vmwareSourceSchema = z.strictObject({
  name: sourceName,
  type: z.literal('vmware'),
  url: httpUrl,
  username: nonEmpty,
  /** Secret: also from env/credentials. Trimmed; spaces inside are fine (HTTP Basic carries them). */
  password: nonEmpty.refine((v) => !CONTROL_CHARS.test(v), 'contains a control character (a tab, a line break, …)'),
  tls: tlsSchema,
  timeoutMs: positiveInt.default(15_000),
  /** `auto` tries `/api` (7.0 U2+) and falls back to `/rest` (6.5–7.0). */
  apiFlavor: z.enum(['auto', 'api', 'rest']).default('auto'),
  filters: z
    .strictObject({
      /** Names or ids (domain-c8); a value that matches nothing is an error, never an empty inventory. */
      clusters: stringList,
      folders: stringList,
      resourcePools: stringList,
      /** Regular expressions matched against the VM name. */
      namePatterns: regexList,
    })
    .optional(),
  /** OS for VMs without VMware Tools when billing has none (order: billing, Tools' full name, this, the vSphere guest id). */
  defaultGuestOs: nonEmpty.optional(),
  /** Parallel per-VM detail requests. */
  detailConcurrency: positiveInt.max(64).default(8),
  /** vCenter refuses listings above this many VMs; shards are split below it. */
  listLimit: positiveInt.default(4000),
});

export const sourceSchema = z.discriminatedUnion('type', [proxmoxSourceSchema, vmwareSourceSchema]);

export const billingSchema = z.strictObject({
  driver: z.enum(['sqlite', 'mysql', 'postgres']),
  /** A file path for sqlite; `mysql://…` / `postgres://…` otherwise (no `?parameters`: TLS is `tls` below). Secret: may hold a password. */
  url: nonEmpty,
  /** The query; when omitted, the built-in one for the main site's schema. */
  query: nonEmpty.optional(),
  timeoutMs: positiveInt.default(10_000),
  tls: z
    .strictObject({
      enabled: z.boolean().default(false),
      caFile: nonEmpty.optional(),
      insecure: z.boolean().default(false),
    })
    .optional(),
});

export const configSchema = z.strictObject({
  // Absolute: a relative path depends on the directory a command runs in, so `status`, `resolve`
  // and a second daemon could each open (and lock) a different file than the running daemon.
  stateFile: nonEmpty.refine(isAbsolute, 'must be an absolute path (a relative one depends on the directory each command runs in)').default('/var/lib/ospab-vps-sync/state.db'),
  schedule: nonEmpty.default('*/1 * * * *').refine((pattern) => {
    try {
      new Cron(pattern, { paused: true }).stop();
      return true;
    } catch {
      return false;
    }
  }, 'is not a valid cron pattern (5 fields, or 6 with seconds first)'),
  panel: z.strictObject({
    url: httpUrl,
    /** Secret: also from VPS_SYNC_API_KEY, VPS_SYNC_API_KEY_FILE or the credential. */
    apiKey: headerToken(32, 'must be at least 32 characters (the panel refuses shorter keys)'),
    timeoutMs: positiveInt.default(10_000),
    concurrency: positiveInt.max(256).default(8),
    /** PEM CA to trust when the panel sits behind a private CA. */
    caFile: nonEmpty.optional(),
  }),
  sources: z
    .array(sourceSchema)
    .min(1, 'at least one source is needed')
    .superRefine((sources, ctx) => {
      const seen = new Set<string>();
      sources.forEach((s, i) => {
        if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate source name "${s.name}"` });
        seen.add(s.name);
      });
    }),
  billing: billingSchema.superRefine((billing, ctx) => {
    // Caught here so check-config names the field, rather than failing later at start-up.
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(billing.url)?.[1]?.toLowerCase();
    const expected = { mysql: ['mysql', 'mariadb'], postgres: ['postgres', 'postgresql'], sqlite: [] as string[] }[billing.driver];
    if (billing.driver === 'sqlite' ? scheme !== undefined && scheme !== 'file' && scheme !== 'sqlite' : scheme === undefined || !expected.includes(scheme)) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: billing.driver === 'sqlite' ? 'must be a file path for the sqlite driver' : `must be a ${expected[0]}:// URL for the ${billing.driver} driver`,
      });
      return;
    }
    // The drivers' own reading: an unencoded '#' in the password, a stray '%', a port typo or
    // `?sslmode=` fail here, worded without the password, instead of at start-up (or never).
    if (billing.driver !== 'sqlite') {
      const read = readNetworkUrl(billing.url, billing.driver);
      if ('problem' in read) ctx.addIssue({ code: 'custom', path: ['url'], message: read.problem });
    }
  }),
  guards: z
    .strictObject({
      missingPassesBeforeDelete: positiveInt.default(3),
      maxDeletesPerPass: z.number().int().min(0).default(20),
      maxDeleteFraction: z.number().min(0).max(1).default(0.1),
    })
    .default({ missingPassesBeforeDelete: 3, maxDeletesPerPass: 20, maxDeleteFraction: 0.1 }),
  retry: z
    .strictObject({
      baseDelayMs: positiveInt.default(30_000),
      maxDelayMs: positiveInt.default(3_600_000),
      /** Consecutive retryable panel failures that open the circuit breaker. */
      breakerThreshold: positiveInt.default(5),
      breakerCooldownMs: positiveInt.default(60_000),
    })
    .default({ baseDelayMs: 30_000, maxDelayMs: 3_600_000, breakerThreshold: 5, breakerCooldownMs: 60_000 }),
  http: z
    .strictObject({
      /** host:port; loopback by default. Empty string disables the listener. */
      listen: z.string().superRefine(checkListen).default('127.0.0.1:9477'),
      /** Bearer token for POST /resync. Secret: also from VPS_SYNC_ADMIN_TOKEN. Without it the admin endpoint is refused. */
      adminToken: headerToken(16, 'must be at least 16 characters').optional(),
      /** /readyz fails when the last successful pass is older than this. */
      readyMaxAgeSeconds: positiveInt.default(600),
    })
    .default({ listen: '127.0.0.1:9477', readyMaxAgeSeconds: 600 }),
  log: z
    .strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
    .default({ level: 'info' }),
  /** Maximum time one pass may take before it is aborted (listings and panel calls). */
  passTimeoutMs: positiveInt.default(600_000),
});

export type Config = z.infer<typeof configSchema>;
export type SourceConfig = z.infer<typeof sourceSchema>;
export type ProxmoxSourceConfig = z.infer<typeof proxmoxSourceSchema>;
export type VmwareSourceConfig = z.infer<typeof vmwareSourceSchema>;
export type BillingConfig = z.infer<typeof billingSchema>;
export type TlsConfig = z.infer<typeof tlsSchema>;
