// Text that came from a server or a config file, made safe to put into a one-line message.

/** Removes control characters and caps length. */
export function printable(text: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/**
 * A `JSON.parse` error without the excerpt of the body it quotes (`Unexpected token 'x', "{"data":x1234"...
 * is not valid JSON`): up to 10 characters of whatever stood at the error, where a server echoing
 * the request could have put a piece of the token secret that no scrub of the whole secret finds.
 */
export function withoutJsonExcerpt(message: string): string {
  return message.replace(/, ".*"(\.\.\.)? is not valid JSON$/s, ' (not valid JSON)');
}
