// A 106-bit fingerprint of a sequence of values: how the billing thread tells "the same row as
// last pass" or "the same record" without keeping the rows or records themselves. Four 32-bit
// multiply-xor lanes with their own start values and multipliers, each finished with murmur3's
// avalanche. Every value goes in as a tag (above any UTF-16 code unit), then its payload with its
// length, so two different sequences never feed the lanes the same numbers; what is left is
// chance, 2^-106 for a given pair.

const TAG_NULL = 0x10000;
const TAG_TEXT = 0x10001;
const TAG_NUMBER = 0x10002;
const TAG_BIGINT = 0x10003;
const TAG_BOOLEAN = 0x10004;
const TAG_BYTES = 0x10005;
const TAG_DATE = 0x10006;
const TAG_OTHER = 0x10007;
const TAG_END = 0x10008;

const float = new Float64Array(1);
const words = new Uint32Array(float.buffer);

function fmix(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** 53 bits from two lanes: exact in a double. */
function join(a: number, b: number): number {
  return fmix(a) * 2 ** 21 + (fmix(b) >>> 11);
}

export class Fingerprint {
  private h0 = 0x811c9dc5;
  private h1 = 0x9747b28c;
  private h2 = 0x1b873593;
  private h3 = 0x85ebca6b;

  /** Starts over. */
  reset(): this {
    this.h0 = 0x811c9dc5;
    this.h1 = 0x9747b28c;
    this.h2 = 0x1b873593;
    this.h3 = 0x85ebca6b;
    return this;
  }

  private feed(code: number): void {
    this.h0 = Math.imul(this.h0 ^ code, 0x01000193);
    this.h1 = Math.imul(this.h1 ^ code, 0x5bd1e995);
    this.h2 = Math.imul(this.h2 ^ code, 0xcc9e2d51);
    this.h3 = Math.imul(this.h3 ^ code, 0x27d4eb2d);
  }

  private chars(text: string): void {
    this.feed(text.length);
    for (let i = 0; i < text.length; i++) this.feed(text.charCodeAt(i));
  }

  text(value: string | null): this {
    if (value === null) this.feed(TAG_NULL);
    else {
      this.feed(TAG_TEXT);
      this.chars(value);
    }
    return this;
  }

  number(value: number): this {
    float[0] = value;
    this.feed(TAG_NUMBER);
    this.feed(words[0]!);
    this.feed(words[1]!);
    return this;
  }

  /** Any value a database driver hands back. */
  value(value: unknown): this {
    if (value === null || value === undefined) this.feed(TAG_NULL);
    else if (typeof value === 'string') this.text(value);
    else if (typeof value === 'number') this.number(value);
    else if (typeof value === 'bigint') {
      this.feed(TAG_BIGINT);
      this.chars(value.toString());
    } else if (typeof value === 'boolean') {
      this.feed(TAG_BOOLEAN);
      this.feed(value ? 1 : 0);
    } else if (value instanceof Uint8Array) {
      this.feed(TAG_BYTES);
      this.feed(value.length);
      for (let i = 0; i < value.length; i++) this.feed(value[i]!);
    } else if (value instanceof Date) {
      this.feed(TAG_DATE);
      this.number(value.getTime());
    } else {
      this.feed(TAG_OTHER);
      this.chars(JSON.stringify(value) ?? String(value));
    }
    return this;
  }

  /** Closes one row (or record), so that values cannot move between neighbours unnoticed. */
  end(): this {
    this.feed(TAG_END);
    return this;
  }

  /** The first 53 bits. */
  get a(): number {
    return join(this.h0, this.h1);
  }

  /** The other 53 bits. */
  get b(): number {
    return join(this.h2, this.h3);
  }
}

/** Fingerprints one result row: its values in order, then the row's end. `print` is reset first. */
export function printRow(print: Fingerprint, row: readonly unknown[]): Fingerprint {
  print.reset();
  for (let i = 0; i < row.length; i++) print.value(row[i]);
  return print.end();
}
