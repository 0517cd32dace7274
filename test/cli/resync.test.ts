// `resync` asks the running daemon over HTTP. A daemon that is stopping answers 202 but queues
// nothing: that must not read as "requested" (exit 0) to a script or a person.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { World } from '../support/world.js';

const ADMIN = 'admin-token-for-tests-0123456789';

describe('resync against the daemon', () => {
  let world: World;
  let daemon: Server;
  afterEach(async () => {
    await new Promise((resolve) => daemon?.close(resolve));
    await world?.stop();
  });

  /** A stand-in for the daemon's endpoint, answering POST /resync with `body`. */
  const answering = async (body: object): Promise<number> => {
    daemon = createServer((req, res) => {
      res.writeHead(req.headers.authorization === `Bearer ${ADMIN}` ? 202 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => daemon.listen(0, '127.0.0.1', resolve));
    return (daemon.address() as AddressInfo).port;
  };

  it.each([
    [{ queued: true, coalesced: false, full: true, force: false }, 0, /full resync requested/],
    [{ queued: true, coalesced: true, full: true, force: false }, 0, /full resync requested/],
    [{ queued: false, coalesced: false, full: true, force: false }, 1, /the daemon is stopping and queued no pass/],
  ])('daemon answers %j → exit %i', async (body, code, message) => {
    world = await new World().start();
    world.writeConfig({ http: { listen: `127.0.0.1:${await answering(body)}`, adminToken: ADMIN } });
    const r = await world.cli('resync', '--full');
    expect(r.code).toBe(code);
    expect(code === 0 ? r.stdout : r.stderr).toMatch(message);
  });
});
