// Reads a `/cluster/resources` answer as it arrives instead of holding all of it: Proxmox writes
// compact `{"data":[{...},{...}]}`, so the bytes are cut into batches of whole array elements
// (~48 KiB, see DEFAULT_BATCH_BYTES), each batch is `JSON.parse`d on its own and handed on at once, and its bytes are
// dropped. At 100,000 guests that is the difference between holding ~30 MB of body, ~30 MB of
// text and ~100 MB of raw objects (promoted to old space, slow to collect) and holding one batch.
//
// The result must be exactly what `JSON.parse` of the whole body would give, for any body:
// - A body that does not start with `{"data":[` (a BOM, whitespace, other keys first, not JSON)
//   is kept whole and parsed as before.
// - Cut points are `},{` found with `Buffer.indexOf` and confirmed by `JSON.parse` of the batch:
//   a `},{` inside a string leaves the batch with an unterminated string, so it cannot parse.
//   When no `},{` works, a byte scanner (strings, escapes, depth) finds the last top-level comma.
// - When the body turns out not to be `{"data":[...]}` after bytes were already dropped (other
//   keys after the list, broken JSON halfway), the rest is kept and parsed behind a stand-in for
//   the dropped part; the outcome (value, or the error with its position) is translated back.
import { randomUUID } from 'node:crypto';

/** What the incremental reader made of a complete body. */
export type BodyOutcome =
  /** `{"data":[...]}`: every element was handed to `onEntries`, in order. */
  | { readonly kind: 'streamed' }
  /** Not that shape, and nothing was handed on: the complete body, to be parsed as a whole. */
  | { readonly kind: 'whole'; readonly body: Buffer }
  /** Valid JSON of another shape: its value (whatever was handed to `onEntries` does not count). */
  | { readonly kind: 'value'; readonly value: unknown }
  /** Not JSON: the error `JSON.parse` of the whole body throws (same message and position). */
  | { readonly kind: 'invalid'; readonly error: SyntaxError };

/**
 * Bytes per batch: small enough that raw entries die young and that a batch's text, even as a
 * two-byte string, stays under V8's 128 KiB large-object size (a 256 KiB batch made decoding ~10x
 * slower and the heap peak ~15 MiB higher at 60,000 guests); large enough that the per-batch
 * work is noise (~400 batches for 60,000 guests).
 */
export const DEFAULT_BATCH_BYTES = 48 * 1024;

const OPEN = Buffer.from('{"data":[');
const SEPARATOR = Buffer.from('},{');
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** Context kept from the dropped text, in UTF-16 units; JSON.parse quotes 10 characters before an error. */
const MIN_CONTEXT = 16;
/** An element no answer can contain: marks "the list the body started with" when parsing a rest. */
const SENTINEL = `\u0000proxmox-listing-${randomUUID()}`;
const SENTINEL_JSON = JSON.stringify(SENTINEL);
const NO_ENTRIES: unknown[] = [];

const isJsonSpace = (b: number | undefined): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

/** The end of the dropped text: a short list of whole elements (or all of them). */
interface Context {
  /** Comma-separated elements, the last bytes before the pending ones. */
  readonly text: string;
  /** How many elements `text` holds. */
  readonly count: number;
  /** True when `text` is every element dropped so far. */
  readonly all: boolean;
}

/** Incremental reader of one JSON body; `push` each chunk, then `end` once. */
export class GuestListStream {
  private buf: Buffer;
  private len = 0;
  private mode: 'head' | 'elements' | 'tail' | 'whole' = 'head';
  /** Index in `buf` of the byte before the next unparsed element: the list's `[` or a `,`. */
  private from = 0;
  /** No cut is tried before `len` reaches this (an element longer than a batch is still arriving). */
  private nextTry = 0;
  /** `},{` was looked for up to here (relative to `buf`). */
  private searched = 0;
  private batches = 0;
  /** UTF-16 length of the text dropped so far (everything before `buf[0]`). */
  private droppedChars = 0;
  /** Line breaks in the dropped text, and the index just after the last one (for newer V8 messages). */
  private droppedBreaks = 0;
  private afterLastBreak = 0;
  private context: Context | undefined;

  /**
   * @param onEntries receives the elements of the list, a batch at a time
   * @param expectedLength the announced Content-Length, if believable: a body kept whole gets one buffer of that size
   */
  constructor(
    private readonly onEntries: (entries: unknown[]) => void,
    private readonly batchBytes = DEFAULT_BATCH_BYTES,
    private readonly expectedLength?: number,
  ) {
    const initial = 2 * batchBytes + 64 * 1024;
    this.buf = Buffer.allocUnsafe(expectedLength !== undefined ? Math.min(expectedLength, initial) : initial);
  }

  /** Takes the next chunk of the body. */
  push(chunk: Uint8Array): void {
    this.append(chunk);
    if (this.mode === 'head') {
      if (this.len < OPEN.length) return;
      if (!this.buf.subarray(0, OPEN.length).equals(OPEN)) {
        this.keepWhole();
        return;
      }
      this.mode = 'elements';
      this.from = OPEN.length - 1;
    }
    if (this.mode === 'elements') this.consume();
  }

  /** The body is complete: hands on the rest and says what the body was. */
  end(): BodyOutcome {
    if (this.mode === 'elements' && this.finish()) return { kind: 'streamed' };
    if (this.batches === 0) return { kind: 'whole', body: this.buf.subarray(0, this.len) };
    return this.parseRest();
  }

  private append(chunk: Uint8Array): void {
    const need = this.len + chunk.byteLength;
    if (need > this.buf.length) {
      let size = Math.max(need, this.buf.length * 2);
      // A body that will be kept whole gets one buffer of the announced size, as before.
      const whole = this.mode === 'whole' || (this.mode === 'tail' && this.batches === 0);
      if (whole && this.expectedLength !== undefined && this.expectedLength >= need) size = this.expectedLength;
      const grown = Buffer.allocUnsafe(size);
      this.buf.copy(grown, 0, 0, this.len);
      this.buf = grown;
    }
    this.buf.set(chunk, this.len);
    this.len = need;
  }

  private keepWhole(): void {
    this.mode = 'whole';
    const expected = this.expectedLength;
    if (expected !== undefined && expected > this.buf.length && expected >= this.len) {
      const whole = Buffer.allocUnsafe(expected);
      this.buf.copy(whole, 0, 0, this.len);
      this.buf = whole;
    }
  }

  /** Parses and hands on whole batches while more than a batch is pending. */
  private consume(): void {
    while (this.mode === 'elements' && this.len - this.from > this.batchBytes && this.len >= this.nextTry) {
      // Usually the first `},{` after a batch's worth of bytes ends the batch.
      const view = this.buf.subarray(0, this.len);
      const c = view.indexOf(SEPARATOR, Math.max(this.from + this.batchBytes, this.searched));
      if (c >= 0 && this.take(c + 1)) continue;
      if (c < 0) {
        this.searched = Math.max(this.from, this.len - 2);
        // The boundary is probably in the next bytes; give up on `},{` only after two batches' worth.
        if (this.len - this.from <= 2 * this.batchBytes) return;
      }
      // Not compact JSON, or that `},{` was inside a string: find the boundary byte by byte.
      const comma = this.topLevelComma(this.from + this.batchBytes);
      if (comma > this.from) {
        // A top-level comma always ends a batch of valid JSON: if it does not parse, the body is not JSON.
        if (!this.take(comma)) this.mode = 'tail';
        continue;
      }
      // One element longer than all that is pending: wait for (much) more.
      this.nextTry = this.len + (this.len - this.from);
      return;
    }
  }

  /**
   * Parses the elements between `from` and the comma at `cut`, hands them on and drops their bytes.
   * False (nothing changed) when they do not parse as one or more whole elements.
   */
  private take(cut: number): boolean {
    const buf = this.buf;
    const from = this.from;
    const first = this.batches === 0;
    // `[`/`,` before and `,` after the batch become `[` and `]`: the batch parses in place.
    buf[from] = LBRACKET;
    buf[cut] = RBRACKET;
    const text = buf.toString('utf8', from, cut + 1);
    let entries = NO_ENTRIES;
    try {
      entries = JSON.parse(text) as unknown[];
    } catch {
      // Not whole elements (the cut was inside a string or a nested value) or not JSON.
    } finally {
      buf[cut] = COMMA;
      if (!first) buf[from] = COMMA;
    }
    // Text before a comma must hold an element (`[,` or `,,` is not JSON even though `[]` is).
    if (entries.length === 0) return false;
    this.keepContext(cut, text.length - 2, entries.length, first);
    if (first) this.droppedChars = from; // `{"data":`
    this.countBreaks(text);
    this.droppedChars += text.length - 1;
    // Keep the comma: it stands for the list's `[` in the next batch.
    buf.copyWithin(0, cut, this.len);
    this.len -= cut;
    this.from = 0;
    this.searched = 0;
    this.nextTry = 0;
    this.batches++;
    this.onEntries(entries);
    return true;
  }

  /**
   * Remembers the last elements of a batch that is about to be dropped: enough text that an error
   * in what follows can be quoted and placed exactly as `JSON.parse` of the whole body would.
   */
  private keepContext(cut: number, batchChars: number, count: number, first: boolean): void {
    const buf = this.buf;
    const start = this.from + 1;
    // The last element or two, when a `},{` close to the end really is a boundary.
    let k = cut;
    for (let attempt = 0; attempt < 3; attempt++) {
      k = k - 3 >= start ? buf.lastIndexOf(SEPARATOR, k - 3) : -1;
      if (k < start) break;
      const text = buf.toString('utf8', k + 2, cut);
      if (text.length < MIN_CONTEXT) continue;
      if (text.length > 64 * 1024) break;
      try {
        const tail = JSON.parse(`[${text}]`) as unknown[];
        this.context = { text, count: tail.length, all: false };
        return;
      } catch {
        // That `},{` was inside a string; try an earlier one.
      }
    }
    // Otherwise the whole batch (joined to the previous context when the batch is tiny).
    const text = buf.toString('utf8', start, cut);
    const previous = this.context;
    if (batchChars < MIN_CONTEXT && previous) {
      this.context = { text: `${previous.text},${text}`, count: previous.count + count, all: previous.all };
    } else {
      this.context = { text, count, all: first };
    }
  }

  /**
   * A comma between two elements of the list in the pending bytes: the first one at or after
   * `target`, else the last one before it; -1 when there is none.
   */
  private topLevelComma(target: number): number {
    const buf = this.buf;
    const end = this.len;
    let depth = 0;
    let inString = false;
    let last = -1;
    for (let i = this.from + 1; i < end; i++) {
      const b = buf[i]!;
      if (inString) {
        if (b === BACKSLASH) i++;
        else if (b === QUOTE) inString = false;
      } else if (b === QUOTE) {
        inString = true;
      } else if (b === LBRACE || b === LBRACKET) {
        depth++;
      } else if (b === RBRACE || b === RBRACKET) {
        if (--depth < 0) break; // the list ended
      } else if (b === COMMA && depth === 0) {
        last = i;
        if (i >= target) break;
      }
    }
    return last;
  }

  /** At the end of the body: the pending elements must be followed by `]}` and whitespace only. */
  private finish(): boolean {
    const buf = this.buf;
    const from = this.from;
    let e = this.len;
    while (e > from && isJsonSpace(buf[e - 1])) e--;
    const close = e - 2;
    if (close <= from || buf[e - 1] !== RBRACE || buf[close] !== RBRACKET) return false;
    const first = this.batches === 0;
    buf[from] = LBRACKET;
    let entries: unknown[] | undefined;
    try {
      entries = JSON.parse(buf.toString('utf8', from, close + 1)) as unknown[];
    } catch {
      return false;
    } finally {
      if (!first) buf[from] = COMMA;
    }
    // After a comma an element must follow.
    if (!first && entries.length === 0) return false;
    this.onEntries(entries);
    return true;
  }

  /**
   * The body was not `{"data":[...]}` after all (its start was, and some batches were handed on):
   * parses what is pending behind a stand-in for the dropped part and translates the result.
   */
  private parseRest(): BodyOutcome {
    const context = this.context!;
    const rest = this.buf.toString('utf8', 0, this.len); // starts with the comma after the dropped elements
    // The stand-in is the dropped text itself when it is short; else the sentinel and the last
    // elements: a valid start in the same parser state, ending with the same characters.
    const head = context.all ? `{"data":[${context.text}` : `{"data":[${SENTINEL_JSON},${context.text}`;
    let value: unknown;
    try {
      value = JSON.parse(head + rest);
    } catch (err) {
      return { kind: 'invalid', error: this.relocated(err as SyntaxError, head) };
    }
    if (context.all) return { kind: 'value', value };
    const data = (value as { data?: unknown }).data;
    if (!Array.isArray(data) || data[0] !== SENTINEL) return { kind: 'value', value }; // a later "data" key won
    this.onEntries(data.slice(1 + context.count));
    return { kind: 'streamed' };
  }

  /**
   * Counts the line breaks of a batch's text about to be dropped (all but its last character,
   * the comma that stays), the way V8 counts them for "(line L column C)": `\r\n` is one.
   */
  private countBreaks(text: string): void {
    if (text.indexOf('\n') < 0 && text.indexOf('\r') < 0) return; // compact JSON has none
    const end = text.length - 1;
    for (let k = 0; k < end; k++) {
      let c = text.charCodeAt(k);
      if (c === 13 && text.charCodeAt(k + 1) === 10) c = text.charCodeAt(++k);
      if (c === 13 || c === 10) {
        this.droppedBreaks++;
        this.afterLastBreak = this.droppedChars + k + 1;
      }
    }
  }

  /**
   * The error with its position moved from the stand-in text to the real body. Node 20 says
   * "at position N"; newer V8 adds "(line L column C)", moved the same way.
   */
  private relocated(err: SyntaxError, head: string): SyntaxError {
    const shift = this.droppedChars - head.length;
    const message = err.message.replace(/ at position (\d+)( \(line (\d+) column (\d+)\))?$/, (_all, p: string, where?: string, l?: string, c?: string) => {
      const position = Number(p) + shift;
      if (!where) return ` at position ${position}`;
      const headBreaks = head.split(/\r\n|\r|\n/).length - 1;
      const line = Number(l) - headBreaks + this.droppedBreaks;
      // The column counts from the last line break: unchanged when that break is in the kept text.
      const breakInRest = Number(p) - Number(c) + 1 > head.length;
      const column = breakInRest ? Number(c) : position - this.afterLastBreak + 1;
      return ` at position ${position} (line ${line} column ${column})`;
    });
    return new SyntaxError(message);
  }
}
