// The undici dispatcher a source connects through: verification on by default, a CA file to
// pin the cluster's self-signed CA, or verification off only when the config says so explicitly.
import { readFile } from 'node:fs/promises';
import { Agent } from 'undici';
import type { TlsConfig } from '../../config/schema.js';
import { SourceError } from './errors.js';

/** Creates the connection pool for one source; reads `tls.caFile` (errors name the file and the fix). */
export async function createDispatcher(source: string, tls: TlsConfig): Promise<Agent> {
  if (tls.insecure) return new Agent({ connect: { rejectUnauthorized: false } });
  if (tls.caFile === undefined) return new Agent();
  let ca: string;
  try {
    ca = await readFile(tls.caFile, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new SourceError(source, 'config', `cannot read tls.caFile ${tls.caFile}: ${why}`, { cause: err });
  }
  if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
    throw new SourceError(source, 'config', `tls.caFile ${tls.caFile} holds no PEM certificate (expected "-----BEGIN CERTIFICATE-----")`);
  }
  return new Agent({ connect: { ca } });
}
