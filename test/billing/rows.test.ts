// The row contract, table-driven: how each value is read and which rows are rejected.
import { describe, expect, it } from 'vitest';
import { mapRows, resolveColumns } from '../../src/billing/rows.js';
import type { BillingRecord } from '../../src/domain/types.js';

const map = (rows: Record<string, unknown>[]): ReturnType<typeof mapRows> => {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  // Drivers hand rows over as arrays in column order.
  return mapRows(rows.map((r) => columns.map((c) => r[c])), resolveColumns(columns).map);
};
const base: BillingRecord = { billingId: null, vmId: '100', source: null, userId: 1, suspended: false, os: null, name: null };

describe('one good row', () => {
  const cases: [string, Record<string, unknown>, Partial<BillingRecord>][] = [
    ['number ids', { vm_id: 100, user_id: 1 }, {}],
    ['bigint ids', { vm_id: 100n, user_id: 1n }, {}],
    ['decimal strings, padded and zero-led', { vm_id: ' 0100 ', user_id: '01' }, {}],
    ['binary text', { vm_id: Buffer.from('100'), user_id: Buffer.from('1') }, {}],
    ['a vSphere id', { vm_id: 'vm-1003', user_id: 1 }, { vmId: 'vm-1003' }],
    ['a VMID above 2^53 stays exact', { vm_id: '9007199254740993', user_id: 1 }, { vmId: '9007199254740993' }],
    ['billing_id number', { vm_id: 100, user_id: 1, billing_id: 42 }, { billingId: '42' }],
    ['billing_id bigint', { vm_id: 100, user_id: 1, billing_id: 42n }, { billingId: '42' }],
    ['billing_id uuid text', { vm_id: 100, user_id: 1, billing_id: 'a1b2' }, { billingId: 'a1b2' }],
    ['billing_id binary as hex', { vm_id: 100, user_id: 1, billing_id: Buffer.from([0xde, 0xad]) }, { billingId: 'dead' }],
    ['source', { vm_id: 100, user_id: 1, source: ' pve1 ' }, { source: 'pve1' }],
    ['empty optionals are null', { vm_id: 100, user_id: 1, source: '', billing_id: '', os: '  ', name: '' }, {}],
    ['os and name', { vm_id: 100, user_id: 1, os: 'Debian 12', name: 'web-1' }, { os: 'Debian 12', name: 'web-1' }],
    ['status suspended', { vm_id: 100, user_id: 1, status: 'suspended' }, { suspended: true }],
    ['status BLOCKED', { vm_id: 100, user_id: 1, status: 'BLOCKED' }, { suspended: true }],
    ['status Frozen', { vm_id: 100, user_id: 1, status: ' Frozen ' }, { suspended: true }],
    ['status unpaid', { vm_id: 100, user_id: 1, status: 'unpaid' }, { suspended: true }],
    ['status running', { vm_id: 100, user_id: 1, status: 'running' }, {}],
    ['status null', { vm_id: 100, user_id: 1, status: null }, {}],
    ['status as binary text', { vm_id: 100, user_id: 1, status: Buffer.from('Suspended') }, { suspended: true }],
    ['billing_id of exactly 255 characters', { vm_id: 100, user_id: 1, billing_id: 'b'.repeat(255) }, { billingId: 'b'.repeat(255) }],
    ['billing_id with surrounding line breaks, trimmed', { vm_id: 100, user_id: 1, billing_id: '\t42\r\n' }, { billingId: '42' }],
    ['upper-case column names', { VM_ID: 100, User_Id: 1, OS: 'Alma' }, { os: 'Alma' }],
    ['extra columns are ignored', { vm_id: 100, user_id: 1, tariff: 'Start' }, {}],
    ['name of exactly 255 characters', { vm_id: 100, user_id: 1, name: 'n'.repeat(255) }, { name: 'n'.repeat(255) }],
    ['surrounding line breaks are trimmed, not control characters', { vm_id: 100, user_id: 1, name: '\tweb-1\r\n', os: ' Debian 12\n' }, { name: 'web-1', os: 'Debian 12' }],
    ['non-ASCII names', { vm_id: 100, user_id: 1, name: 'сервер-1 ✓', os: Buffer.from('Ubuntu 24.04 LTS') }, { name: 'сервер-1 ✓', os: 'Ubuntu 24.04 LTS' }],
    ['a number as os', { vm_id: 100, user_id: 1, os: 2022 }, { os: '2022' }],
  ];
  it.each(cases)('%s', (_name, row, expected) => {
    expect(map([row])).toEqual({ records: [{ ...base, ...expected }], rejected: [] });
  });
});

describe('one bad row', () => {
  const cases: [string, Record<string, unknown>, string, string][] = [
    ['null user_id', { vm_id: 100, user_id: null, billing_id: 42 }, 'billing row 1 (billing_id 42)', 'user_id is null'],
    ['empty user_id', { vm_id: 100, user_id: '', billing_id: 42 }, 'billing row 1 (billing_id 42)', 'user_id is empty'],
    ['text user_id', { vm_id: 100, user_id: 'bob', billing_id: 42 }, 'billing row 1 (billing_id 42)', 'user_id is not a positive integer: "bob"'],
    ['zero user_id', { vm_id: 100, user_id: 0, billing_id: 42 }, 'billing row 1 (billing_id 42)', 'user_id is not a positive integer: 0'],
    ['fractional user_id', { vm_id: 100, user_id: 1.5, billing_id: 42 }, 'billing row 1 (billing_id 42)', 'user_id is not a positive integer: 1.5'],
    ['huge user_id', { vm_id: 100, user_id: '99999999999999999999', billing_id: 42 }, 'billing row 1 (billing_id 42)', 'user_id is too large: 99999999999999999999'],
    ['null vm_id', { vm_id: null, user_id: 1, billing_id: 42 }, 'billing row 1 (billing_id 42)', 'vm_id is null'],
    ['text vm_id', { vm_id: 'web', user_id: 1, billing_id: 42 }, 'billing row 1 (billing_id 42)', 'vm_id is not a positive integer or a vSphere id (vm-123): "web"'],
    ['negative vm_id', { vm_id: -5, user_id: 1 }, 'billing row 1', 'vm_id is not a positive integer or a vSphere id (vm-123): -5'],
    ['no billing_id: named by vm_id', { vm_id: 100, user_id: null }, 'billing row 1 (vm_id 100)', 'user_id is null'],
    ['two problems', { vm_id: null, user_id: null, billing_id: 7 }, 'billing row 1 (billing_id 7)', 'vm_id is null; user_id is null'],
    ['os an object', { vm_id: 100, user_id: 1, os: { a: 1 }, billing_id: 7 }, 'billing row 1 (billing_id 7)', 'os is not text: a value of type object'],
    ['name over 255 characters', { vm_id: 100, user_id: 1, name: 'n'.repeat(256), billing_id: 7 }, 'billing row 1 (billing_id 7)', 'name is 256 characters long (limit 255)'],
    ['os over 255 characters', { vm_id: 100, user_id: 1, os: 'o'.repeat(300) }, 'billing row 1 (vm_id 100)', 'os is 300 characters long (limit 255)'],
    ['name with a line break', { vm_id: 100, user_id: 1, name: 'web-1\nDROP', billing_id: 7 }, 'billing row 1 (billing_id 7)', 'name contains control characters'],
    ['name with an ANSI escape', { vm_id: 100, user_id: 1, name: 'web-1\u001b[31m', billing_id: 7 }, 'billing row 1 (billing_id 7)', 'name contains control characters'],
    ['os with a NUL', { vm_id: 100, user_id: 1, os: 'Ubuntu\u0000', billing_id: 7 }, 'billing row 1 (billing_id 7)', 'os contains control characters'],
    ['os with a C1 control', { vm_id: 100, user_id: 1, os: 'Deb\u0085ian', billing_id: 7 }, 'billing row 1 (billing_id 7)', 'os contains control characters'],
    ['os with DEL, as binary text', { vm_id: 100, user_id: 1, os: Buffer.from('Alma\u007f'), billing_id: 7 }, 'billing row 1 (billing_id 7)', 'os contains control characters'],
    ['name huge, with an escape and a line break', { vm_id: 100, user_id: 1, name: `my-vps\u001b[31m\nDROP${'x'.repeat(10_000)}`, billing_id: 7 }, 'billing row 1 (billing_id 7)', 'name is 10016 characters long (limit 255)'],
    // status is text (docs/billing.md): a flag would silently mean "not suspended", whatever it meant.
    ['status a PostgreSQL boolean', { vm_id: 100, user_id: 1, status: true, billing_id: 7 }, 'billing row 1 (billing_id 7)', "status is a boolean (true), expected text such as 'suspended' or 'active' (map a flag to a word, e.g. CASE WHEN blocked THEN 'suspended' END AS status)"],
    ['status false', { vm_id: 100, user_id: 1, status: false, billing_id: 7 }, 'billing row 1 (billing_id 7)', "status is a boolean (false), expected text such as 'suspended' or 'active' (map a flag to a word, e.g. CASE WHEN blocked THEN 'suspended' END AS status)"],
    ['status a MySQL TINYINT(1)', { vm_id: 100, user_id: 1, status: 1, billing_id: 7 }, 'billing row 1 (billing_id 7)', "status is a number (1), expected text such as 'suspended' or 'active' (map a flag to a word, e.g. CASE WHEN blocked THEN 'suspended' END AS status)"],
    ['status a bigint', { vm_id: 100, user_id: 1, status: 0n }, 'billing row 1 (vm_id 100)', "status is a number (0), expected text such as 'suspended' or 'active' (map a flag to a word, e.g. CASE WHEN blocked THEN 'suspended' END AS status)"],
    // billing_id reaches reports, logs and terminals like name: the same limits, and never quoted back.
    ['billing_id with a line break', { vm_id: 100, user_id: 1, billing_id: '42\nFAKE ALERT' }, 'billing row 1 (vm_id 100)', 'billing_id contains control characters'],
    ['billing_id with an ANSI escape', { vm_id: 100, user_id: 'bad', billing_id: '9\u001b]0;pwned\u0007' }, 'billing row 1 (vm_id 100)', 'user_id is not a positive integer: "bad"; billing_id contains control characters'],
    ['billing_id with a C1 control', { vm_id: 100, user_id: 1, billing_id: 'a\u009bb' }, 'billing row 1 (vm_id 100)', 'billing_id contains control characters'],
    ['billing_id over 255 characters', { vm_id: 100, user_id: 1, billing_id: 'b'.repeat(256) }, 'billing row 1 (vm_id 100)', 'billing_id is 256 characters long (limit 255)'],
    ['os and name both bad', { vm_id: 100, user_id: 1, os: 'Ubuntu\u0000', name: 'n'.repeat(256), billing_id: 7 }, 'billing row 1 (billing_id 7)', 'os contains control characters; name is 256 characters long (limit 255)'],
  ];
  it.each(cases)('%s', (_name, row, where, problem) => {
    expect(map([row])).toEqual({ records: [], rejected: [expect.objectContaining({ where, problem })] });
  });

  it('a bad name or os is never quoted back, and its row still names its VM (owner unknown, not "nobody")', () => {
    const { rejected } = map([{ vm_id: 100, user_id: 1, source: 'pve1', name: `x\u001b[2J${'y'.repeat(300)}DROP` }]);
    expect(rejected[0]).toMatchObject({ vmId: '100', source: 'pve1' });
    expect(rejected[0]!.problem).not.toMatch(/DROP|\u001b|yyy/);
  });

  it('a bad billing_id is never quoted back, not even in a duplicate message; its row still names its VM', () => {
    const bad = `42\u001b[2J\u001b[31mFAKE ALERT`;
    const out = map([
      { vm_id: 100, user_id: 1, source: 'pve1', billing_id: bad },
      { vm_id: 100, user_id: 2, source: 'pve1', billing_id: 8 },
    ]);
    expect(out.records).toEqual([]);
    expect(out.rejected[0]).toMatchObject({ where: 'billing row 1 (vm_id 100)', vmId: '100', source: 'pve1' });
    for (const r of out.rejected) expect(`${r.where} ${r.problem}`).not.toMatch(/FAKE|\u001b/);
    expect(out.rejected[1]!.problem).toBe('duplicate (source, vm_id) (pve1, 100): 2 rows claim it (row 1, billing_id 8); none is used');
  });

  it('a rejected row names the VM it was about, so the engine treats its owner as unknown', () => {
    expect(map([{ vm_id: 100, user_id: null, source: 'pve1' }]).rejected[0]).toMatchObject({ vmId: '100', source: 'pve1' });
    expect(map([{ vm_id: null, user_id: 1 }]).rejected[0]?.vmId).toBeUndefined();
  });
});

describe('duplicates', () => {
  it('rejects every row of a duplicated (source, vm_id), each with its billing_id; the rest still come back', () => {
    const out = map([
      { source: 'pve1', vm_id: 100, user_id: 1, billing_id: 1 },
      { source: 'pve1', vm_id: '100', user_id: 2, billing_id: 2 },
      { source: 'pve2', vm_id: 100, user_id: 3, billing_id: 3 },
      { source: null, vm_id: 100, user_id: 4, billing_id: 4 },
      { source: 'pve1', vm_id: 101, user_id: 5, billing_id: 5 },
    ]);
    expect(out.records.map((r) => r.billingId)).toEqual(['3', '4', '5']);
    const problem = 'duplicate (source, vm_id) (pve1, 100): 2 rows claim it (billing_id 1, billing_id 2); none is used';
    expect(out.rejected).toEqual([
      { where: 'billing row 1 (billing_id 1)', problem, vmId: '100', source: 'pve1' },
      { where: 'billing row 2 (billing_id 2)', problem, vmId: '100', source: 'pve1' },
    ]);
  });

  it('a bad row still claims its VM: its valid twin is rejected too', () => {
    const out = map([
      { vm_id: 100, user_id: 1, billing_id: 1 },
      { vm_id: 100, user_id: null, billing_id: 2 },
    ]);
    expect(out.records).toEqual([]);
    expect(out.rejected.map((r) => r.problem)).toEqual([
      'duplicate (source, vm_id) (any source, 100): 2 rows claim it (billing_id 1, billing_id 2); none is used',
      'user_id is null; duplicate (source, vm_id) (any source, 100): 2 rows claim it (billing_id 1, billing_id 2); none is used',
    ]);
  });

  it('rows without billing_id are named by row number', () => {
    const out = map([
      { vm_id: 'vm-7', user_id: 1 },
      { vm_id: 'vm-7', user_id: 1 },
    ]);
    expect(out.rejected[0]).toEqual({
      where: 'billing row 1 (vm_id vm-7)',
      problem: 'duplicate (source, vm_id) (any source, vm-7): 2 rows claim it (row 1, row 2); none is used',
      vmId: 'vm-7',
      source: null,
    });
  });
});

describe('resolveColumns', () => {
  it('reports the required columns that are missing', () => {
    expect(resolveColumns(['billing_id', 'USER_ID']).missing).toEqual(['vm_id']);
    expect(resolveColumns([]).missing).toEqual(['vm_id', 'user_id']);
  });
  it('matches names case-insensitively', () => {
    expect(resolveColumns(['user_id', 'VM_ID']).map.get('vm_id')).toBe(1);
    expect(resolveColumns(['User_Id', 'vm_id', 'STATUS']).map.get('status')).toBe(2);
  });

  // Never pick one of two columns with the same name: `sv.*` next to `l.sso_id AS user_id` would
  // read the shop's id as the panel's (the first) or depend on how the alias was spelled (exact
  // case first: on MySQL/SQLite `AS USER_ID` next to a table's user_id would pick the table's).
  const duplicates: [string, string[], { column: string; positions: number[]; names: string[] }[], string[]][] = [
    ['the same name twice', ['id', 'user_id', 'vm_id', 'user_id'], [{ column: 'user_id', positions: [2, 4], names: ['user_id', 'user_id'] }], []],
    ['case variants', ['VM_ID', 'vm_id', 'user_id'], [{ column: 'vm_id', positions: [1, 2], names: ['VM_ID', 'vm_id'] }], []],
    ['an optional column', ['vm_id', 'user_id', 'status', 'Status', 'STATUS'], [{ column: 'status', positions: [3, 4, 5], names: ['status', 'Status', 'STATUS'] }], []],
    ['two columns, one required missing', ['user_id', 'os', 'os'], [{ column: 'os', positions: [2, 3], names: ['os', 'os'] }], ['vm_id']],
    ['other names may repeat', ['id', 'id', 'vm_id', 'user_id'], [], []],
  ];
  it.each(duplicates)('reports a contract column named more than once, and does not use it: %s', (_name, columns, dups, missing) => {
    const { map, duplicates: found, missing: absent } = resolveColumns(columns);
    expect(found).toEqual(dups);
    expect(absent).toEqual(missing);
    for (const d of dups) expect(map.has(d.column as 'vm_id')).toBe(false);
  });
});
