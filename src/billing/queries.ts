// The built-in query for the main site's schema (Prisma on MySQL: tables `user`, `server`,
// `operatingsystem`, camelCase columns), one spelling per SQL dialect.

export type Dialect = 'mysql' | 'postgres' | 'sqlite';

/** Columns of `user` that hold the panel's SSO id, in order of preference. */
export const SSO_COLUMNS: readonly string[] = ['ssoId', 'sso_id'];

/** Lists which of `SSO_COLUMNS` exist on the `user` table (one row per column, in `column_name`). */
export function ssoProbeQuery(dialect: Dialect): string {
  const names = SSO_COLUMNS.map((c) => `'${c}'`).join(', ');
  switch (dialect) {
    case 'mysql':
      return `SELECT COLUMN_NAME AS column_name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'user' AND COLUMN_NAME IN (${names})`;
    case 'postgres':
      // The columns of the relation the built-in query's unqualified "user" resolves to, through the
      // whole search_path (to_regclass resolves it the same way). current_schema() is only the first
      // schema that exists: with `"$user", public` and a schema named after the login role, it is
      // that (empty) schema while the query reads public."user", and the probe would miss ssoId and
      // fall back to server.userId, the shop's id. pg_attribute, unlike information_schema, also
      // lists a column the role may not read: the query then fails loudly instead of falling back.
      return `SELECT a.attname AS column_name FROM pg_catalog.pg_attribute a WHERE a.attrelid = to_regclass('"user"') AND a.attnum > 0 AND NOT a.attisdropped AND a.attname IN (${names})`;
    case 'sqlite':
      return `SELECT name AS column_name FROM pragma_table_info('user') WHERE name IN (${names})`;
  }
}

/** Picks the preferred SSO column among the probe's rows (the column name first in each); null when the table has none. */
export function pickSsoColumn(rows: Iterable<readonly unknown[]>): string | null {
  // information_schema compares names case-insensitively on MySQL, so compare the same way here.
  const found = Array.from(rows, (r) => String(r[0] ?? ''));
  for (const wanted of SSO_COLUMNS) {
    const hit = found.find((f) => f === wanted) ?? found.find((f) => f.toLowerCase() === wanted.toLowerCase());
    if (hit !== undefined) return hit;
  }
  return null;
}

/**
 * The built-in query. `user_id` is `user.<ssoColumn>` when the main site stores the panel's SSO id
 * there, else `server.userId` (the main site's own user id, which the panel then must share).
 * Servers not yet created on the hypervisor (`proxmoxId` NULL) are left out.
 */
export function builtInQuery(dialect: Dialect, ssoColumn: string | null): string {
  const q = (name: string): string => (dialect === 'mysql' ? `\`${name}\`` : `"${name}"`);
  const userId = ssoColumn === null ? `s.${q('userId')}` : `u.${q(ssoColumn)}`;
  const userJoin = ssoColumn === null ? '' : `\nLEFT JOIN ${q('user')} u ON u.${q('id')} = s.${q('userId')}`;
  return [
    `SELECT s.${q('proxmoxId')} AS vm_id, ${userId} AS user_id, s.${q('id')} AS billing_id,`,
    `       s.${q('status')} AS status, os.${q('name')} AS os`,
    `FROM ${q('server')} s${userJoin}`,
    `LEFT JOIN ${q('operatingsystem')} os ON os.${q('id')} = s.${q('osId')}`,
    `WHERE s.${q('proxmoxId')} IS NOT NULL`,
    `ORDER BY s.${q('id')}`,
  ].join('\n');
}
