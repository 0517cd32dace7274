// Exit codes scripts can rely on (sysexits.h where one fits, terraform's for plan).

export const EXIT = {
  ok: 0,
  /** Something failed (a pass was not fully applied, an error). */
  failure: 1,
  /** `plan`: there are changes to apply. */
  changes: 2,
  /** Bad command line (EX_USAGE). */
  usage: 64,
  /** The state file is locked by another process (EX_TEMPFAIL): try again later. */
  locked: 75,
  /** The configuration is invalid (EX_CONFIG); systemd must not restart-loop on it. */
  config: 78,
} as const;
