// Schema migrations, applied in order by `PRAGMA user_version`. Append only: never edit a
// migration that has shipped, add the next one.
import type { Database } from 'better-sqlite3';

const MIGRATIONS: readonly string[] = [
  // 1: snapshot, outbox, pass history, per-source and daemon status.
  `
  CREATE TABLE vps (
    source          TEXT    NOT NULL,
    external_id     TEXT    NOT NULL,
    panel_id        INTEGER NOT NULL,
    user_id         INTEGER NOT NULL,
    billing_id      TEXT,
    name            TEXT    NOT NULL,
    cpu             INTEGER NOT NULL,
    ram             INTEGER NOT NULL,
    disk            INTEGER NOT NULL,
    os              TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    hypervisor      TEXT    NOT NULL,
    missing_passes  INTEGER NOT NULL DEFAULT 0,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (source, external_id)
  ) WITHOUT ROWID;

  CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    source          TEXT    NOT NULL,
    external_id     TEXT    NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('create', 'update', 'delete')),
    panel_id        INTEGER,
    fields_json     TEXT,
    user_id         INTEGER,
    billing_id      TEXT,
    state           TEXT    NOT NULL CHECK (state IN ('in_flight', 'done', 'failed', 'ambiguous')),
    failure         TEXT    CHECK (failure IN ('retryable', 'rejected')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_error      TEXT,
    pass_id         INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
  );
  -- At most one open item per VM and kind: a retry reuses it (attempt count, backoff).
  CREATE UNIQUE INDEX outbox_open ON outbox (source, external_id, kind) WHERE state <> 'done';
  CREATE INDEX outbox_state ON outbox (state, updated_at);

  CREATE TABLE passes (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    result       TEXT,
    full         INTEGER NOT NULL DEFAULT 0,
    summary_json TEXT
  );

  CREATE TABLE source_status (
    name           TEXT PRIMARY KEY,
    kind           TEXT NOT NULL,
    up             INTEGER,
    vms            INTEGER,
    last_error     TEXT,
    last_listed_at INTEGER
  ) WITHOUT ROWID;

  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT
  ) WITHOUT ROWID;
  `,
  // 2: the outbox holds open items only, and costs as little as possible per call (an initial sync
  // journals and resolves one row per create, 100,000 times). Rebuilt (SQLite cannot alter constraints):
  // - a finished call's row is deleted in the transaction that records its outcome: nothing read
  //   `done` rows (they were pruned after 7 days), and keeping them made every resolution an
  //   UPDATE through three indexes and grew the table by a row per call;
  // - CHECKs as OR chains: an `IN (…)` list of three or more values is compiled into a temporary
  //   table that every INSERT/UPDATE built and freed again (~10 µs per statement);
  // - no AUTOINCREMENT (its sqlite_sequence row was one more page written per transaction): the
  //   store counts ids itself so that none is reused while it runs (StateStore.nextOutboxId);
  // - the unique index covers failed and ambiguous items only — the ones a later call reuses and
  //   `status`/`resolve` look up by VM. An in-flight row lives for one round trip; leaving it out
  //   of the index saves a page and two index writes per call. The store knows which VMs have a
  //   failed or ambiguous item (OutboxJournal.settledCache); apply sends one call per VM at a time.
  //   No index on state: the table holds open items only.
  // Open items keep their ids; done rows are dropped.
  `
  CREATE TABLE outbox_v2 (
    id              INTEGER PRIMARY KEY,
    source          TEXT    NOT NULL,
    external_id     TEXT    NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind = 'create' OR kind = 'update' OR kind = 'delete'),
    panel_id        INTEGER,
    fields_json     TEXT,
    user_id         INTEGER,
    billing_id      TEXT,
    state           TEXT    NOT NULL CHECK (state = 'in_flight' OR state = 'failed' OR state = 'ambiguous'),
    failure         TEXT    CHECK (failure = 'retryable' OR failure = 'rejected'),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_error      TEXT,
    pass_id         INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
  );
  INSERT INTO outbox_v2 (id, source, external_id, kind, panel_id, fields_json, user_id, billing_id, state, failure, attempts, next_attempt_at, last_error, pass_id, created_at, updated_at)
    SELECT id, source, external_id, kind, panel_id, fields_json, user_id, billing_id, state, failure, attempts, next_attempt_at, last_error, pass_id, created_at, updated_at
    FROM outbox WHERE state <> 'done' ORDER BY id;
  DROP TABLE outbox;
  ALTER TABLE outbox_v2 RENAME TO outbox;
  -- At most one failed or ambiguous item per VM and kind: a retry reuses it (attempt count, backoff).
  CREATE UNIQUE INDEX outbox_settled ON outbox (source, external_id, kind) WHERE state <> 'in_flight';
  `,
];

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * The state file was written by a newer build. Restarting cannot fix it (the CLI exits 78, which
 * the unit does not restart on): run the newer version, or restore a state file of this one.
 */
export class StateFileTooNewError extends Error {
  constructor(readonly version: number) {
    super(`state file schema version ${version} is newer than this build understands (${SCHEMA_VERSION}); upgrade ospab-vps-sync or restore a matching state file`);
    this.name = 'StateFileTooNewError';
  }
}

/**
 * Brings the database to the current schema; refuses a file written by a newer build. All pending
 * migrations run in one IMMEDIATE transaction that re-reads the version: a second process opening
 * the same old file at the same time (`resolve` beside a starting daemon) waits, then finds it done.
 */
export function migrate(db: Database): void {
  const version = (): number => db.pragma('user_version', { simple: true }) as number;
  const check = (current: number): void => {
    if (current > SCHEMA_VERSION) throw new StateFileTooNewError(current);
  };
  const before = version();
  check(before);
  if (before === SCHEMA_VERSION) return;
  db.transaction(() => {
    const current = version();
    check(current);
    for (let v = current; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
