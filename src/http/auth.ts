// Bearer-token check for the admin endpoint, in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';

/** The outcome of checking a request's Authorization header. */
export type AuthResult = 'ok' | 'missing' | 'wrong' | 'disabled';

/** Checks `Authorization: Bearer <token>` against the configured admin token. */
export function checkBearer(header: string | undefined, adminToken: string | undefined): AuthResult {
  if (adminToken === undefined || adminToken === '') return 'disabled';
  if (header === undefined) return 'missing';
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (!match) return 'missing';
  // Hashing first gives equal-length buffers, so timingSafeEqual never leaks the length either.
  const presented = createHash('sha256').update(match[1]!, 'utf8').digest();
  const expected = createHash('sha256').update(adminToken, 'utf8').digest();
  return timingSafeEqual(presented, expected) ? 'ok' : 'wrong';
}
