// The billing thread: runs the billing query with the same source the engine would use inline,
// and answers each request with the difference from what the engine already holds (delta.ts).
// Reading and mapping 100,000 rows is a fifth of a steady pass; here it runs beside the
// hypervisor listings, and the engine receives a few edits. When the rows fingerprint as last
// time (the usual pass) not even a record is built: the answer is "keep them all"; after a change
// only the changed rows are mapped (row-delta.ts). This thread's heap thus stays small (~20 MiB at
// 100,000 rows), which is what keeps the daemon under its memory target with a second thread.
import { parentPort, workerData } from 'node:worker_threads';
import { createBillingSource } from '../index.js';
import { HeldBilling } from '../row-delta.js';
import { COLLECT_AFTER_VMS, fullCollector } from '../../util/heap.js';
import type { LogCall, LogSink } from '../../util/logger.js';
import { toThreadError, type FromThread, type LogLevel, type ThreadInit, type ToThread } from './protocol.js';

const port = parentPort;
if (port === null) throw new Error('billing/thread/worker.js runs only as a worker thread');
const init = workerData as ThreadInit;

const send = (message: FromThread): void => port.postMessage(message);

// pino's numbers: a line below the engine logger's level is dropped here, not after a copy.
const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };
const threshold = LEVELS[init.level] ?? LEVELS.info!;

/** Sends each line to the engine's logger, which formats and redacts it as its own. */
function forwardingSink(bindings: Record<string, unknown>): LogSink {
  const at = (level: LogLevel): LogCall => {
    if (LEVELS[level]! < threshold) return () => {};
    return (fieldsOrMessage, message) => {
      const fields = typeof fieldsOrMessage === 'string' ? {} : { ...(fieldsOrMessage as Record<string, unknown>) };
      const msg = typeof fieldsOrMessage === 'string' ? fieldsOrMessage : (message ?? '');
      try {
        send({ type: 'log', level, bindings, fields, msg });
      } catch {
        // A field structured clone cannot copy (a function): the message alone.
        send({ type: 'log', level, bindings, fields: {}, msg });
      }
    };
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (more) => forwardingSink({ ...bindings, ...more }) };
}

const source = createBillingSource(init.config, { logger: forwardingSink({}) });
const held = new HeldBilling();
const collect = fullCollector();
/** The generation of the records the engine holds if it took the last reply (0: none yet). */
let generation = 0;
const waiting = new Map<number, AbortController>();
// One query at a time, in the order asked.
let queue: Promise<void> = Promise.resolve();

async function list(id: number, base: number, abort: AbortController): Promise<void> {
  try {
    // The engine did not take the last reply (it gave up waiting for it): it still holds `base`,
    // which this thread no longer knows, so it gets every record again.
    if (base !== generation) held.forget();
    const sentFrom = held.known ? base : 0;
    const found = await source.listChanges(abort.signal, held.since());
    const { delta, rejected } = held.take(found);
    generation++;
    send({ type: 'listed', id, base: sentFrom, generation, delta, rejected });
    // What this thread keeps between passes is two fingerprints per record the engine holds and
    // per row; the rest of a large read is garbage, collected now while the thread waits anyway (its heap only).
    if (collect && found.kind !== 'unchanged' && found.rows.a.length >= COLLECT_AFTER_VMS) setImmediate(collect);
  } catch (err) {
    send({ type: 'failed', id, error: toThreadError(err) });
  } finally {
    waiting.delete(id);
  }
}

port.on('message', (message: ToThread) => {
  switch (message.type) {
    case 'list': {
      const abort = new AbortController();
      waiting.set(message.id, abort);
      queue = queue.then(() => list(message.id, message.base, abort));
      break;
    }
    case 'cancel':
      waiting.get(message.id)?.abort(new Error(message.why));
      break;
    case 'close':
      queue = queue.then(async () => {
        await source.close();
        send({ type: 'closed' });
      });
      break;
  }
});
