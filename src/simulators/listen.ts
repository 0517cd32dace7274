// Listening for the simulators, which close their port for a `down` fault and open it again after.
// While it is closed, the kernel may hand that port to a client connection of another test as its
// local (ephemeral) port, and listening on it again fails with EADDRINUSE until that connection
// ends. So a port given back is asked for again for a while; port 0 (a new one) never needs it.
import type { Server } from 'node:net';

/** How long a port given back is asked for again before the error is the caller's. */
const RETRY_FOR_MS = 5_000;
const RETRY_EVERY_MS = 25;

/** Listens on `host:port`; for a fixed port, retries while another socket holds it (EADDRINUSE). */
export async function listenOn(server: Server, port: number, host: string): Promise<void> {
  const deadline = Date.now() + RETRY_FOR_MS;
  for (;;) {
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return;
    } catch (err) {
      const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
      if (!inUse || port === 0 || Date.now() >= deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, RETRY_EVERY_MS));
    }
  }
}
