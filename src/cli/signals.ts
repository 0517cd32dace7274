// The daemon's signals, listened for from the executable's first line to its last. Until a process
// listens for SIGHUP or SIGTERM, Node's default ends it at once: a `systemctl reload` right after a
// restart (modules loading, the state file opening) killed the daemon, and systemd counts death by
// SIGHUP as a clean exit, so Restart=on-failure left it down; a SIGHUP during the graceful stop
// killed it with calls in flight, whose creates then came back ambiguous. No imports: src/cli.ts
// loads this before everything else.

/** What the messages need of a logger. */
interface InfoLogger {
  info(message: string): void;
}

export interface DaemonSignals {
  /** Resolves with the first SIGTERM or SIGINT (a second one ends the process at once, as usual). */
  readonly stopped: Promise<NodeJS.Signals>;
  /** Whether a stop signal has arrived. */
  stopRequested(): boolean;
  /** From now on each SIGHUP calls `onHup`; one that arrived earlier is handed over now (`early`). */
  handleHup(onHup: (early: boolean) => void): void;
  /** The daemon is stopping: a SIGHUP is logged and ignored. */
  stopping(logger: InfoLogger): void;
  /** Stops listening (the process is about to exit). */
  dispose(): void;
}

/** Starts listening for SIGTERM, SIGINT and SIGHUP on `proc` (the process, or a stand-in in tests). */
export function listenForSignals(proc: NodeJS.EventEmitter = process): DaemonSignals {
  let stopSignal: NodeJS.Signals | null = null;
  let hupHandler: ((early: boolean) => void) | null = null;
  let hupWaiting = false;
  let stoppingLogger: InfoLogger | null = null;
  let resolveStopped!: (signal: NodeJS.Signals) => void;
  const stopped = new Promise<NodeJS.Signals>((resolve) => (resolveStopped = resolve));

  const onStop = (signal: NodeJS.Signals) => (): void => {
    if (stopSignal !== null) return;
    stopSignal = signal;
    resolveStopped(signal);
  };
  const onTerm = onStop('SIGTERM');
  const onInt = onStop('SIGINT');
  const onHup = (): void => {
    if (stoppingLogger || stopSignal !== null) stoppingLogger?.info('SIGHUP ignored: the daemon is stopping');
    else if (hupHandler) hupHandler(false);
    else hupWaiting = true;
  };
  proc.once('SIGTERM', onTerm);
  proc.once('SIGINT', onInt);
  proc.on('SIGHUP', onHup);

  return {
    stopped,
    stopRequested: () => stopSignal !== null,
    handleHup(handler) {
      hupHandler = handler;
      if (hupWaiting && stopSignal === null) {
        hupWaiting = false;
        handler(true);
      }
    },
    stopping(logger) {
      stoppingLogger = logger;
    },
    dispose() {
      proc.off('SIGTERM', onTerm);
      proc.off('SIGINT', onInt);
      proc.off('SIGHUP', onHup);
    },
  };
}
