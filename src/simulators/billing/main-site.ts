// Builds the main site's tables and rows, in any of the three SQL dialects.
import { SCHEMA_SQL, type Dialect } from './schema-sql.js';

export type { Dialect };

export interface SeedUser { id: number; email?: string; username?: string; ssoId?: number | null }
export interface SeedOs { id: number; name: string; type?: string }
export interface SeedTariff { id: number; name?: string; price?: number }
export interface SeedServer {
  id: number;
  userId: number;
  osId: number;
  tariffId?: number;
  status: string;
  /** NULL while the main site has not created the VM on Proxmox yet. */
  proxmoxId: number | null;
  ipAddress?: string | null;
}
export interface SeedPayment { id: number; userId: number; amount: number; status?: string }

/** Rows to insert into the main site's tables. */
export interface MainSiteSeed {
  users?: SeedUser[];
  operatingSystems?: SeedOs[];
  tariffs?: SeedTariff[];
  servers?: SeedServer[];
  payments?: SeedPayment[];
}

/** Quotes an identifier the way the dialect wants camelCase names quoted. */
export function quoteIdent(dialect: Dialect, name: string): string {
  return dialect === 'mysql' ? `\`${name}\`` : `"${name}"`;
}

/** The main site's CREATE TABLE statements for a dialect, one statement per element. */
export function mainSiteSchema(dialect: Dialect): string[] {
  return SCHEMA_SQL[dialect]
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n')
    .split(/;\s*\n/)
    .map((s) => s.trim().replace(/;$/, ''))
    .filter((s) => s.length > 0);
}

function literal(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number') return String(v);
  return `'${v.replace(/'/g, "''")}'`;
}

function insert(dialect: Dialect, table: string, rows: Record<string, string | number | null | undefined>[]): string[] {
  return rows.map((row) => {
    const cols = Object.keys(row).filter((k) => row[k] !== undefined);
    return `INSERT INTO ${quoteIdent(dialect, table)} (${cols.map((c) => quoteIdent(dialect, c)).join(', ')}) VALUES (${cols
      .map((c) => literal(row[c]))
      .join(', ')})`;
  });
}

/** INSERT statements for `seed` (users and lookup tables first, so foreign keys hold). */
export function seedStatements(dialect: Dialect, seed: MainSiteSeed): string[] {
  const users = (seed.users ?? []).map((u) => ({
    id: u.id,
    email: u.email ?? `user${u.id}@example.test`,
    username: u.username ?? `user${u.id}`,
    password: 'bcrypt-hash-not-a-secret',
    ...(u.ssoId !== undefined ? { ssoId: u.ssoId } : {}),
  }));
  const oses = (seed.operatingSystems ?? []).map((o) => ({ id: o.id, name: o.name, type: o.type ?? 'linux' }));
  const tariffs = (seed.tariffs ?? []).map((t) => ({ id: t.id, name: t.name ?? `Tariff ${t.id}`, price: t.price ?? 300 }));
  const servers = (seed.servers ?? []).map((s) => ({
    id: s.id,
    userId: s.userId,
    tariffId: s.tariffId ?? 1,
    osId: s.osId,
    status: s.status,
    proxmoxId: s.proxmoxId,
    ipAddress: s.ipAddress ?? null,
    rootPassword: 'not-a-real-password',
  }));
  const payments = (seed.payments ?? []).map((p) => ({ id: p.id, userId: p.userId, amount: p.amount, status: p.status ?? 'succeeded' }));
  return [
    ...insert(dialect, 'user', users),
    ...insert(dialect, 'operatingsystem', oses),
    ...insert(dialect, 'tariff', tariffs),
    ...insert(dialect, 'server', servers),
    ...insert(dialect, 'payment', payments),
  ];
}

/** Creates the main site's tables and inserts `seed`, through whatever `exec` runs one statement. */
export async function seedMainSite(exec: (sql: string) => unknown, dialect: Dialect, seed: MainSiteSeed): Promise<void> {
  for (const sql of [...mainSiteSchema(dialect), ...seedStatements(dialect, seed)]) await exec(sql);
}
