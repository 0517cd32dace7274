// The state file as the CLI opens it. SQLite's own words ("file is not a database", "no such
// table: vps", "attempt to write a readonly database") name neither the file nor what to check, so
// every open goes through here and a failure becomes one line that does.
import { chownSync, lstatSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import DatabaseConstructor from 'better-sqlite3';
import { ConfigValueError } from '../config/load.js';
import { SCHEMA_VERSION, StateFileTooNewError } from '../store/migrations.js';
import { StateLockedError } from '../store/writer-lock.js';
import { errorMessage } from '../util/errors.js';
import { CliExit } from './context.js';
import { EXIT } from './exit-codes.js';

const NOT_OURS = 'is stateFile an ospab-vps-sync state file?';

function whoAmI(): string {
  return `this user (uid ${process.geteuid?.() ?? '?'})`;
}

/** The SQLite result code of an error or of its cause (`SQLITE_NOTADB`), if any. */
function sqliteCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = (e as Error & { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('SQLITE_')) return code;
  }
  return undefined;
}

/** The errno code of a file system error (one that names its path: mkdir of the state directory, stat). */
function errnoCode(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException | undefined;
  return typeof e?.code === 'string' && /^E[A-Z]+$/.test(e.code) && typeof e.path === 'string' ? e.code : undefined;
}

/** A newer build's file: 78, so systemd does not restart-loop on what only an upgrade or a restore fixes. */
function tooNew(stateFile: string, version: number): CliExit {
  return new CliExit(
    EXIT.config,
    `state file ${stateFile}: written by a newer ospab-vps-sync (schema version ${version}; this build reads up to ${SCHEMA_VERSION}) — run the newer version, or restore a backup of the state file made by this one`,
  );
}

/**
 * The CliExit for an error met while opening (or locking) the state file, or undefined when the
 * error is not the state file's (a config error, the lock held by another process, …).
 */
export function stateFileExit(stateFile: string, err: unknown): CliExit | undefined {
  if (err instanceof CliExit || err instanceof StateLockedError || err instanceof ConfigValueError) return undefined;
  if (err instanceof StateFileTooNewError) return tooNew(stateFile, err.version);
  const sqlite = sqliteCode(err);
  const errno = errnoCode(err);
  if (sqlite === undefined && errno === undefined) return undefined;
  const what = errorMessage(err);
  const say = (code: number, hint: string): CliExit => new CliExit(code, `state file ${stateFile}: ${what} — ${hint}`);
  if (sqlite === 'SQLITE_NOTADB') return say(EXIT.config, NOT_OURS);
  if (sqlite?.startsWith('SQLITE_CORRUPT')) return say(EXIT.config, 'the file is damaged: restore it from a backup');
  if (sqlite?.startsWith('SQLITE_READONLY') || sqlite === 'SQLITE_PERM' || errno === 'EACCES' || errno === 'EPERM' || errno === 'EROFS') {
    return say(EXIT.failure, `${whoAmI()} may not ${errno === 'EACCES' && sqlite === undefined ? 'reach or read' : 'write'} it or its directory (the -wal, -shm and .lock files are created beside it): run the command as root (sudo) or as the service's user, see docs/operations.md`);
  }
  if (sqlite?.startsWith('SQLITE_CANTOPEN') || errno === 'ENOTDIR' || errno === 'ENOENT') {
    return say(EXIT.failure, `check that its directory exists and that ${whoAmI()} may read and write there`);
  }
  if (sqlite?.startsWith('SQLITE_IOERR')) return say(EXIT.failure, 'is stateFile a regular file on a local, writable file system (not a directory, not NFS)?');
  if (sqlite === 'SQLITE_ERROR' && /no such (table|column)/.test(what)) return say(EXIT.config, `it does not hold what this version expects: ${NOT_OURS}`);
  return say(EXIT.failure, NOT_OURS);
}

/** Whether an error that reached the top came from SQLite or the schema check (not, say, a socket's errno). */
export function isStateFileFailure(err: unknown): boolean {
  return err instanceof StateFileTooNewError || sqliteCode(err) !== undefined;
}

/** Runs `fn`, turning a failure to open the state file into a CliExit that names it (see stateFileExit). */
export function withStateFile<T>(stateFile: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw stateFileExit(stateFile, err) ?? err;
  }
}

/**
 * Looks at the state file before a command opens it: not there yet, empty (SQLite's empty
 * database: a writer sets it up, a reader finds nothing yet), or present. A directory, a file of
 * another program (a writer would otherwise add its tables to it) or of a newer build is refused
 * with 78, naming the file; one this user may not even look at as stateFileExit says — existsSync
 * would call it missing and send the operator looking for a file that is there.
 */
export function inspectStateFile(stateFile: string): 'missing' | 'empty' | 'present' {
  let st;
  try {
    st = statSync(stateFile);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return 'missing';
    throw stateFileExit(stateFile, err) ?? err;
  }
  if (st.isDirectory()) throw new CliExit(EXIT.config, `state file ${stateFile}: is a directory — stateFile must name a file in it, e.g. ${stateFile.replace(/\/+$/, '')}/state.db`);
  if (st.size === 0) return 'empty';
  withStateFile(stateFile, () => {
    const db = new DatabaseConstructor(stateFile, { readonly: true, fileMustExist: true });
    try {
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION) throw tooNew(stateFile, version);
      const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number };
      if (version === 0 && tables.n > 0) throw new CliExit(EXIT.config, `state file ${stateFile}: holds another program's tables and no ospab-vps-sync schema — ${NOT_OURS}`);
    } finally {
      db.close();
    }
  });
  return 'present';
}

/** A read-only view's refusal of an empty state file, which SQLite would read as "no such table". */
export function emptyStateFile(stateFile: string): CliExit {
  return new CliExit(EXIT.failure, `state file ${stateFile}: is empty (no pass has written it yet) — ${NOT_OURS} If so, start the daemon or run "ospab-vps-sync once"`);
}

/**
 * Run as root (sudo), SQLite gives the -wal and -shm files it creates the database file's owner,
 * but the writer lock (`<stateFile>.lock`) and a new state file get root's, and the service
 * (DynamicUser, or its own account) could then no longer open them; systemd re-owns the state
 * directory's contents only when the directory itself changed owner. So hand whatever root created
 * there to the directory's owner. A no-op for any other user and in a root-owned directory.
 */
export function giveToStateOwner(stateFile: string): void {
  if (process.geteuid?.() !== 0) return;
  let dir;
  try {
    dir = statSync(dirname(stateFile));
  } catch {
    return;
  }
  if (dir.uid === 0) return;
  for (const file of [stateFile, `${stateFile}-wal`, `${stateFile}-shm`, `${stateFile}.lock`, `${stateFile}.lock-journal`]) {
    try {
      const st = lstatSync(file);
      if (st.isFile() && st.uid === 0) chownSync(file, dir.uid, dir.gid);
    } catch {
      // not there
    }
  }
}
