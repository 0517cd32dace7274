// TLS options for the network drivers, read from `billing.tls` when a connection is opened.
import { readFileSync } from 'node:fs';
import type { BillingConfig } from '../config/schema.js';
import { BillingError } from './errors.js';

/** The `ssl` option both mysql2 and pg accept. */
export interface DriverTls {
  readonly ca?: string;
  readonly rejectUnauthorized: boolean;
}

/** Builds the driver TLS options (undefined when TLS is off); the CA file is read now, so call it when connecting. */
export function driverTls(tls: BillingConfig['tls'], target: string): DriverTls | undefined {
  if (!tls?.enabled) return undefined;
  if (tls.caFile === undefined) return { rejectUnauthorized: !tls.insecure };
  try {
    return { ca: readFileSync(tls.caFile, 'utf8'), rejectUnauthorized: !tls.insecure };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new BillingError('connect', target, `TLS: cannot read billing.tls.caFile ${tls.caFile} (${code})`, code);
  }
}
