// Loopback ports for tests: one nobody listens on (bound, then released), for "connection
// refused" cases, and waiting for one to accept connections again.
import { connect, createServer } from 'node:net';

/** Returns a port that was free a moment ago on 127.0.0.1. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves once the URL's port accepts connections again (a cleared `down` fault re-listens). */
export async function accepting(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(Number(port), hostname, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${url} does not accept connections`);
}
