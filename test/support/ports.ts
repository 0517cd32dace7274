// A loopback port nobody listens on (bound, then released), for "connection refused" cases.
import { createServer } from 'node:net';

/** Returns a port that was free a moment ago on 127.0.0.1. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
