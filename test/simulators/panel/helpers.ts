// Raw HTTP helpers for the simulator tests: the simulator is driven exactly as a foreign client would.
export const API_KEY = 'sim-test-key-0123456789abcdef0123456789';

export interface RawAnswer {
  status: number;
  body: unknown;
  text: string;
  contentType: string | null;
}

/** POSTs to /api/vps/sync with the given key and body (a string is sent as is). */
export async function sync(
  url: string,
  body: unknown,
  opts: { key?: string | null; contentType?: string } = {},
): Promise<RawAnswer> {
  const headers: Record<string, string> = { 'Content-Type': opts.contentType ?? 'application/json' };
  const key = opts.key === undefined ? API_KEY : opts.key;
  if (key !== null) headers['X-API-Key'] = key;
  const res = await fetch(`${url}/api/vps/sync`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return read(res);
}

/** Calls a control route. */
export async function control(url: string, method: string, path: string, body?: unknown): Promise<RawAnswer> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return read(res);
}

async function read(res: Response): Promise<RawAnswer> {
  const text = await res.text();
  let body: unknown = undefined;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body, text, contentType: res.headers.get('content-type') };
}

/** A valid create payload; override single fields to make it invalid. */
export function createVps(over: Record<string, unknown> = {}) {
  return {
    action: 'create',
    vps: { user_id: 5, name: 'test-vps', cpu: 2, ram: 2048, disk: 50, os: 'Ubuntu 22.04 LTS', status: 'creating', hypervisor: 'proxmox', ...over },
  };
}
