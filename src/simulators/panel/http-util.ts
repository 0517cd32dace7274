// Small node:http helpers for the simulator: read a bounded body, write a JSON or HTML answer.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Largest request body accepted; the panel's real bodies are a few hundred bytes. */
export const MAX_BODY_BYTES = 1_048_576;

/** Reads the whole body as UTF-8, or null when it exceeds `MAX_BODY_BYTES`. */
export function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooBig = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooBig ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Writes a JSON answer with an explicit length (keeps keep-alive cheap). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Writes `body` as it is, with `status` and (when given) a Content-Type. */
export function sendRaw(res: ServerResponse, status: number, body: string, contentType?: string): void {
  const headers: Record<string, string | number> = { 'Content-Length': Buffer.byteLength(body) };
  if (contentType !== undefined) headers['Content-Type'] = contentType;
  res.writeHead(status, headers);
  res.end(body);
}

/** The page nginx serves when its upstream is down: what a client gets instead of JSON. */
export function sendProxyErrorPage(res: ServerResponse): void {
  const html =
    '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n' +
    '<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.24.0</center>\r\n</body>\r\n</html>\r\n';
  res.writeHead(502, { 'Content-Type': 'text/html', 'Content-Length': Buffer.byteLength(html) });
  res.end(html);
}
