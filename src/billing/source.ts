// The billing source every driver shares: picks the query, runs it read-only through the driver's
// connector, checks the columns and maps the rows.
import type { BillingSource } from '../domain/ports.js';
import type { BillingRecord, RejectedItem } from '../domain/types.js';
import type { BillingConfig } from '../config/schema.js';
import type { LogSink } from '../util/logger.js';
import type { Connector, ResultSet, RunQuery } from './connector.js';
import { abandoned, BillingError } from './errors.js';
import { builtInQuery, pickSsoColumn, ssoProbeQuery } from './queries.js';
import { readAll, readChanges, type BillingChanges, type HeldSince } from './row-delta.js';
import { mapRows, resolveColumns, type ColumnIndex } from './rows.js';

const BUILT_IN_HINT = "(this is the built-in query for the main site's schema; set billing.query for another schema)";

/** A `BillingSource` over any SQL driver. */
export class SqlBillingSource implements BillingSource {
  /** The built-in query once it has run successfully; fixed for the life of the process. */
  private builtIn: string | undefined;

  constructor(
    private readonly connector: Connector,
    private readonly config: BillingConfig,
    private readonly target: string,
    private readonly logger: LogSink,
  ) {}

  /** Runs the configured (or built-in) query in one read-only transaction and maps its rows. */
  listRecords(signal: AbortSignal): Promise<{ records: BillingRecord[]; rejected: RejectedItem[] }> {
    // Rows are mapped inside the read transaction: a driver may stream them (see ResultSet).
    return this.read(
      signal,
      async (run) => this.mapResult(await this.runQuery(run)),
      (out) => ({ rows: out.records.length + out.rejected.length, records: out.records.length, rejected: out.rejected.length }),
    );
  }

  /**
   * Like listRecords, for the billing thread, which knows what the engine holds (`since`: the rows
   * its records came from and their claimKeys, HeldBilling): a pass whose rows are those of last time
   * builds no record at all, and one after a change maps only the rows that changed (row-delta.ts).
   * When two rows may claim the same VM, the rows are read again in the same transaction and all
   * mapped.
   */
  listChanges(signal: AbortSignal, since: HeldSince): Promise<BillingChanges> {
    return this.read(
      signal,
      async (run): Promise<BillingChanges> => {
        const result = await this.runQuery(run);
        const found = readChanges(result.columns, this.columnsOf(result.columns), result.rows, since);
        if (found.kind !== 'duplicates') return found;
        const again = await this.runQuery(run);
        return { kind: 'all', ...readAll(again.columns, this.columnsOf(again.columns), again.rows) };
      },
      (out) =>
        out.kind === 'unchanged'
          ? { unchanged: true }
          : out.kind === 'edits'
            ? { rows: out.rows.a.length, mapped: out.delta.inserted.length + out.rejected.length, rejected: out.rejected.length }
            : { rows: out.rows.a.length, records: out.records.length, rejected: out.rejected.length, readTwice: true },
    );
  }

  /** One read-only transaction running `work`, given up when `signal` fires; logged with `summary` of what it found. */
  private async read<T>(signal: AbortSignal, work: (run: RunQuery) => Promise<T>, summary: (out: T) => Record<string, unknown>): Promise<T> {
    if (signal.aborted) throw this.aborted(signal);
    const started = Date.now();
    const out = await this.raceAbort(this.connector.readOnly(work), signal);
    this.logger.debug({ ...summary(out), durationMs: Date.now() - started }, 'billing query done');
    return out;
  }

  /** Which result column carries each contract column; throws when a required one is absent or any is named twice. */
  private columnsOf(columns: readonly string[]): ColumnIndex {
    const { map, missing, duplicates } = resolveColumns(columns);
    if (duplicates.length > 0) {
      // The whole query fails (billing unavailable: no creates, deletes or owner changes this pass)
      // rather than guessing which column is meant (rows.ts, resolveColumns).
      const each = duplicates.map((d) => `${d.positions.length} columns named "${d.column}" (${d.positions.map((p, i) => `column ${p} "${d.names[i]}"`).join(', ')})`);
      throw new BillingError(
        'query',
        this.target,
        `the query result has ${each.join(' and ')}; alias only one of them as ${duplicates.map((d) => d.column).join(', ')} (list the columns you need instead of *, or rename the others)`,
      );
    }
    if (missing.length > 0) {
      const got = columns.length > 0 ? columns.join(', ') : 'none';
      throw new BillingError(
        'query',
        this.target,
        `the query result has no ${missing.map((c) => `"${c}"`).join(' and no ')} column (it has: ${got}); alias the right columns, e.g. SELECT s.id AS vm_id, u.id AS user_id`,
      );
    }
    return map;
  }

  /** Checks the result has the required columns and maps its rows (each row ends as a record or a rejection). */
  private mapResult(result: ResultSet): { records: BillingRecord[]; rejected: RejectedItem[] } {
    return mapRows(result.rows, this.columnsOf(result.columns));
  }

  /** Closes the driver's connection. */
  async close(): Promise<void> {
    await this.connector.close();
  }

  private async runQuery(run: RunQuery): Promise<ResultSet> {
    if (this.config.query !== undefined) return run(this.config.query);
    try {
      if (this.builtIn !== undefined) return await run(this.builtIn);
      // Looked up once, then fixed: switching the meaning of user_id mid-life would look like every VM changing owner.
      const sso = pickSsoColumn((await run(ssoProbeQuery(this.connector.dialect))).rows);
      const sql = builtInQuery(this.connector.dialect, sso);
      const result = await run(sql);
      // Fixed only once it has worked: a probe made while the tables were missing proves nothing.
      this.builtIn = sql;
      this.logger.info(
        { userIdColumn: sso === null ? 'server.userId' : `user.${sso}` },
        sso === null
          ? 'billing: built-in query uses server.userId as the panel user id (no user.ssoId / user.sso_id column)'
          : `billing: built-in query uses user.${sso} as the panel user id`,
      );
      return result;
    } catch (err) {
      if (err instanceof BillingError && err.reason === 'query') {
        throw new BillingError('query', err.target, `${err.detail} ${BUILT_IN_HINT}`, err.driverCode);
      }
      throw err;
    }
  }

  /** Gives up waiting when the signal fires; the driver finishes (bounded by its own timeout) in the background. */
  private raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(this.aborted(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      work.then(
        (v) => {
          signal.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (e: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      );
    });
  }

  private aborted(signal: AbortSignal): BillingError {
    return abandoned(this.target, signal);
  }
}
