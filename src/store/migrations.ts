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
];

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database to the current schema; refuses a file written by a newer build. */
export function migrate(db: Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new Error(`state file schema version ${current} is newer than this build understands (${SCHEMA_VERSION}); upgrade ospab-vps-sync or restore a matching state file`);
  }
  for (let v = current; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
