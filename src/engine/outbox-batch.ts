// Group commit for the outbox. Each panel call needs two durable writes (journal before sending,
// outcome after the answer); as two transactions of their own they would cost more of the daemon's
// CPU than the HTTP request. Here every journal and resolve asked for in the same event-loop turn
// shares one transaction, flushed in the turn's check phase (setImmediate); at concurrency 8 that
// is ~4.5 calls per transaction (store-bench: ~15 µs of CPU per create at 5 calls per transaction,
// most of it the commit's WAL writes). Resolutions are not held back for larger batches: a
// transaction already carries every answer of its turn, and a held one would widen the window in
// which a crash turns an answered create into an ambiguous one. The contract is unchanged:
// a call is sent only after the transaction holding its in_flight row has committed, and a
// crash between send and answer leaves it in_flight (recovery makes a create ambiguous).
import type { Action } from '../domain/types.js';
import type { JournalOutcome, Resolution } from '../store/outbox-journal.js';
import type { StateStore } from '../store/state-store.js';

interface PendingJournal {
  readonly action: Action;
  readonly passId: number | null;
  readonly now: number;
  readonly done: (entry: JournalOutcome) => void;
  readonly fail: (err: unknown) => void;
}

/** Batches one apply()'s outbox writes; `close()` commits what is left. */
export class OutboxBatch {
  private journals: PendingJournal[] = [];
  private resolutions: { outboxId: number; resolution: Resolution; now: number; action: Action }[] = [];
  private scheduled = false;
  /** A failed commit of resolutions nobody was waiting on, rethrown by `close()`. */
  private failure: unknown = undefined;

  constructor(
    private readonly store: StateStore,
    private readonly passId: number | null,
  ) {}

  /** Journals `action` as in_flight; resolves once that is committed (only then may it be sent), or with why it must not be sent. */
  journal(action: Action, now: number): Promise<JournalOutcome> {
    // After a failed commit nothing more is sent this pass.
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((done, fail) => {
      this.journals.push({ action, passId: this.passId, now, done, fail });
      this.schedule();
    });
  }

  /** Queues the outcome of the journaled `action`; it is committed with the next batch (before any later journal). */
  resolve(outboxId: number, action: Action, resolution: Resolution, now: number): void {
    this.resolutions.push({ outboxId, resolution, now, action });
    this.schedule();
  }

  /** Commits everything still queued; throws if any batch failed. */
  close(): void {
    this.flush();
    if (this.failure !== undefined) throw this.failure;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const journals = this.journals;
    const resolutions = this.resolutions;
    if (journals.length === 0 && resolutions.length === 0) return;
    this.journals = [];
    this.resolutions = [];
    let entries: JournalOutcome[];
    try {
      entries = this.store.resolveAndJournal(resolutions, journals);
    } catch (err) {
      // Nothing of this batch was written: its calls are not sent, and the pass fails like any store error.
      this.failure ??= err;
      for (const j of journals) j.fail(err);
      return;
    }
    for (let i = 0; i < journals.length; i++) journals[i]!.done(entries[i]!);
  }
}
