// A self-signed certificate for the HTTPS simulators, generated in memory at start.
// Like a fresh Proxmox/vCenter install, nothing trusts it unless the client is given the cert as a CA.
import { generate } from 'selfsigned';

export interface SelfSignedCert {
  /** PEM certificate; hand it to a client as its CA file to trust this server. */
  readonly cert: string;
  /** PEM private key. */
  readonly key: string;
}

/** Generates a certificate valid for localhost and 127.0.0.1 (and ::1). */
export async function generateSelfSignedCert(commonName = 'localhost'): Promise<SelfSignedCert> {
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    notAfterDate: new Date(Date.now() + 30 * 86_400_000),
    keyType: 'ec',
    extensions: [
      { name: 'basicConstraints', cA: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
