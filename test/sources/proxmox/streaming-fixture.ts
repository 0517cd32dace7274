// For the streaming tests: a large guest list with every kind of entry, what the old whole-body
// client made of any body (the reference the incremental listing must equal), and a tiny
// loopback server that delivers a body in one go, dribbled in odd-sized chunks, cut short or stalled.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pino } from 'pino';
import { proxmoxSourceSchema, type ProxmoxSourceConfig } from '../../../src/config/schema.js';
import type { RejectedItem, VmRecord } from '../../../src/domain/types.js';
import { seededRandom } from '../../../src/simulators/rng.js';
import { badEntry, BAD_ENTRY_CASES, generateGuests } from '../../../src/simulators/proxmox/index.js';
import { resourceEntry } from '../../../src/simulators/proxmox/guest.js';
import { createGuestFilter, filterFieldsOf, type FilterFields } from '../../../src/sources/proxmox/filter.js';
import { toVmRecord } from '../../../src/sources/proxmox/map.js';
import { withoutJsonExcerpt } from '../../../src/sources/proxmox/text.js';
import { describeEntry, guestListSchema, isQuickGuestEntry, parseGuestEntry, type GuestEntry } from '../../../src/sources/proxmox/schema.js';
import { createProxmoxSource } from '../../../src/sources/proxmox/index.js';
import { TOKEN_ID, TOKEN_SECRET } from './helpers.js';

const NAMES = ['a},{b', 'q"uote', 'back\\slash', '\\"},{\\"', 'сервер-1', '中文机器', 'emoji-😀-𝄞', 'mix ü},{"😀\\', '}', '{', ']}'];

/**
 * `n` seeded guests as `/cluster/resources` entries, plus: names with JSON-significant and
 * multi-byte characters (4-byte ones included), every malformed entry, duplicate vmids, a
 * non-object or two, templates (~2% from the seed).
 */
export function bigGuestList(n: number, seed = 11): Record<string, unknown>[] {
  const rnd = seededRandom(seed);
  const entries: Record<string, unknown>[] = generateGuests(n, { nodes: 4, seed }).map(resourceEntry);
  for (let i = 0; i < entries.length; i += 37) entries[i]!.name = `${NAMES[Math.floor(rnd() * NAMES.length)]}-${i}`;
  const extra: Record<string, unknown>[] = [];
  // Duplicates of listed vmids (an lxc with a qemu's id and the other way round).
  for (let i = 5; i < entries.length; i += Math.ceil(entries.length / 9)) {
    const e = entries[i]!;
    extra.push({ ...e, type: e.type === 'qemu' ? 'lxc' : 'qemu', id: `dup/${String(e.vmid)}`, name: `dup-of-${String(e.vmid)}` });
  }
  for (const kind of BAD_ENTRY_CASES) extra.push(badEntry(kind));
  const out = [...entries];
  // Spread the extras through the list so they land in different batches.
  extra.forEach((e, k) => out.splice(Math.floor(((k + 1) / (extra.length + 1)) * out.length), 0, e));
  out.splice(Math.floor(out.length / 3), 0, null as unknown as Record<string, unknown>, 'not a guest' as unknown as Record<string, unknown>);
  return out;
}

/** buildListing as it was before the incremental listing (verbatim but for later rules, marked), the reference for results. */
export function oldBuildListing(source: string, entries: readonly unknown[], keep?: (g: FilterFields) => boolean) {
  const result = { vms: [] as VmRecord[], rejected: [] as RejectedItem[], templates: 0, filteredOut: 0 };
  const seen = new Map<number, GuestEntry>();
  entries.forEach((raw, index) => {
    if (typeof raw === 'object' && raw !== null && (raw as { template?: unknown }).template === 1) {
      result.templates++;
      return;
    }
    if (keep) {
      // Since the audit of the 27th: unreadable filter fields reject the entry instead of filtering it out.
      const fields = filterFieldsOf(raw);
      if (fields === null) {
        const vmid = readableVmid(raw);
        const problem = 'node, pool or tags is not text: cannot tell whether the include/exclude filters take this guest';
        result.rejected.push({ where: `${source}: ${describeEntry(raw, index)}`, problem, ...(vmid !== undefined ? { vmId: vmid, source } : { namesNoVm: true as const }) });
        return;
      }
      if (!keep(fields)) {
        result.filteredOut++;
        return;
      }
    }
    let entry: GuestEntry;
    if (typeof raw === 'object' && raw !== null && !Array.isArray(raw) && isQuickGuestEntry(raw as Record<string, unknown>)) {
      entry = raw as GuestEntry;
    } else {
      const parsed = parseGuestEntry(raw);
      if (!parsed.ok) {
        const vmid = readableVmid(raw);
        result.rejected.push({ where: `${source}: ${describeEntry(raw, index)}`, problem: parsed.problem, ...(vmid !== undefined ? { vmId: vmid, source } : { namesNoVm: true as const }) });
        return;
      }
      entry = parsed.entry;
    }
    const first = seen.get(entry.vmid);
    if (first !== undefined) {
      const firstText = `${first.type}/${first.vmid} on ${first.node}`;
      result.rejected.push({ where: `${source}: ${describeEntry(raw, index)}`, problem: `duplicate vmid ${entry.vmid} (already listed as ${firstText}); kept the first`, vmId: String(entry.vmid), source });
      return;
    }
    seen.set(entry.vmid, entry);
    result.vms.push(toVmRecord(source, entry));
  });
  return result;
}

function readableVmid(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { vmid, id } = raw as { vmid?: unknown; id?: unknown };
  const text = typeof vmid === 'number' ? String(vmid) : typeof vmid === 'string' ? vmid.trim() : '';
  if (/^[1-9][0-9]{0,9}$/.test(text)) return text;
  return typeof id === 'string' ? /^(?:qemu|lxc)\/([1-9][0-9]{0,9})$/.exec(id.trim())?.[1] : undefined;
}

function printable(text: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

export type Outcome = { ok: true; vms: VmRecord[]; rejected: RejectedItem[] } | { ok: false; message: string };

/**
 * What the source answered before the incremental listing, for a complete 200
 * `application/json;charset=UTF-8` body: proxmox-api's json() (BOM dropped) and `.data`, then
 * the client's checks and buildListing.
 */
export function wholeBodyOutcome(body: Buffer, config: Pick<ProxmoxSourceConfig, 'name' | 'include' | 'exclude'>): Outcome {
  const fail = (detail: string): Outcome => ({ ok: false, message: `proxmox ${config.name}: ${detail}` });
  const text = body.toString('utf8');
  let parsed: { data?: unknown } | null;
  try {
    parsed = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) as { data?: unknown } | null;
  } catch {
    parsed = { data: null };
  }
  if (parsed === null) return fail('HTTP 200 OK from GET /cluster/resources'); // the library reads `null.data`
  const data = parsed.data;
  if (data === null || data === undefined) {
    try {
      JSON.parse(text);
    } catch (err) {
      return fail(`answer is not JSON (${printable(withoutJsonExcerpt((err as Error).message), 120)}; ${body.length} bytes)`);
    }
    return fail('answer has "data": null instead of a guest list');
  }
  const list = guestListSchema.safeParse(data);
  if (!list.success) return fail(list.error.issues[0]?.message ?? 'answer is not a guest list');
  const { vms, rejected } = oldBuildListing(config.name, list.data, createGuestFilter(config.include, config.exclude));
  return { ok: true, vms, rejected };
}

/** How the tiny server delivers the body. */
export type Delivery =
  | { kind: 'oneGo' }
  /** Runs of 1–7 byte writes with a pause after each, between single writes of odd sizes up to `maxBig`. */
  | { kind: 'dribble'; seed: number; maxBig: number }
  /** Announces the full length, sends `bytes`, then destroys the socket. */
  | { kind: 'truncate'; bytes: number }
  /** Sends `bytes`, then nothing more (until the server stops). */
  | { kind: 'stall'; bytes: number };

/** A loopback HTTP server answering every request with the current body as Proxmox would. */
export class BodyServer {
  body: Buffer = Buffer.from('{"data":[]}');
  delivery: Delivery = { kind: 'oneGo' };
  contentType = 'application/json;charset=UTF-8';
  requests = 0;
  private readonly server = http.createServer((req, res) => void this.answer(res));
  private readonly sockets = new Set<Socket>();
  url = '';

  async start(): Promise<this> {
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** A source for this server (plain HTTP), with config overrides. */
  config(overrides: Record<string, unknown> = {}): ProxmoxSourceConfig {
    return proxmoxSourceSchema.parse({ name: 'pve1', type: 'proxmox', url: this.url, tokenId: TOKEN_ID, tokenSecret: TOKEN_SECRET, timeoutMs: 60_000, ...overrides });
  }

  source(overrides: Record<string, unknown> = {}) {
    return createProxmoxSource(this.config(overrides), { logger: pino({ level: 'silent' }) });
  }

  private async answer(res: http.ServerResponse): Promise<void> {
    this.requests++;
    const body = this.body;
    const d = this.delivery;
    res.writeHead(200, 'OK', { 'Content-Type': this.contentType, 'Content-Length': body.length, Server: 'pve-api-daemon/3.0' });
    const write = (chunk: Buffer) => new Promise<void>((resolve) => (res.write(chunk) ? resolve() : res.once('drain', resolve)));
    const pause = () => new Promise<void>((resolve) => setImmediate(resolve));
    switch (d.kind) {
      case 'oneGo':
        res.end(body);
        return;
      case 'truncate':
        await write(body.subarray(0, d.bytes));
        await new Promise((r) => setTimeout(r, 20));
        res.destroy();
        return;
      case 'stall':
        await write(body.subarray(0, d.bytes));
        return;
      case 'dribble': {
        const rnd = seededRandom(d.seed);
        let at = 0;
        while (at < body.length && !res.destroyed) {
          for (let i = 0; i < 200 && at < body.length; i++) {
            const n = 1 + Math.floor(rnd() * 7);
            await write(body.subarray(at, at + n));
            at += n;
            await pause();
          }
          const n = 1 + 2 * Math.floor(rnd() * (d.maxBig / 2)); // odd
          await write(body.subarray(at, at + n));
          at += n;
        }
        res.end();
        return;
      }
    }
  }
}
