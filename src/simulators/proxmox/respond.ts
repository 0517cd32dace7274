// Writing answers the way pve-api-daemon does: reason in the status line, `{"data":...}` body,
// `application/json;charset=UTF-8` (the proxmox-api client accepts nothing else).
import type { IncomingMessage, ServerResponse } from 'node:http';

export const PVE_CONTENT_TYPE = 'application/json;charset=UTF-8';

/** How a body is to be delivered; the fault options make it arrive broken. */
export interface SendOptions {
  readonly contentType?: string;
  /** Send the headers (with the full length) and half the body, then destroy the socket. */
  readonly truncate?: boolean;
  /** Send the headers and half the body, wait this long, then the rest. */
  readonly stallMs?: number;
  /** Waits `ms`; tracked by the server so `stop()` can cancel it. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The standard `{"data":null}` error body. */
export const NULL_BODY = Buffer.from('{"data":null}');

/** Serializes a success body. */
export function dataBody(data: unknown): Buffer {
  return Buffer.from(JSON.stringify({ data }));
}

/** Sends one answer; resolves when it has been written (or deliberately broken). */
export async function send(res: ServerResponse, status: number, statusText: string, body: Buffer, options: SendOptions = {}): Promise<void> {
  res.writeHead(status, statusText, {
    'Content-Type': options.contentType ?? PVE_CONTENT_TYPE,
    'Content-Length': body.length,
    'Cache-Control': 'max-age=0',
    Pragma: 'no-cache',
    Expires: new Date().toUTCString(),
    Server: 'pve-api-daemon/3.0',
  });
  if (!options.truncate && !options.stallMs) {
    res.end(body);
    return;
  }
  const half = Math.floor(body.length / 2);
  await new Promise<void>((resolve) => res.write(body.subarray(0, half), () => resolve()));
  if (options.truncate) {
    res.destroy();
    return;
  }
  if (options.stallMs && options.sleep) await options.sleep(options.stallMs);
  if (!res.destroyed) res.end(body.subarray(half));
}

/** Sends a plain JSON answer for the control API (`/_sim/`). */
export function sendControl(res: ServerResponse, status: number, payload: unknown): void {
  const body = Buffer.from(JSON.stringify(payload));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  res.end(body);
}

/** Reads a JSON request body (≤ 1 MB); throws with a readable message on anything else. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > 1_048_576) throw new Error('request body larger than 1 MB');
    chunks.push(b);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`request body is not JSON: ${(err as Error).message}`);
  }
}
