// Text helpers for error messages: short single-line excerpts of bodies, and secret scrubbing.
// Order matters: scrub the whole text first, excerpt after. Cutting first can split a secret at
// the cut, and a half secret no longer matches, so it would go out to the logs as it is.

/** A single-line excerpt of a body (HTML tags dropped), at most `max` characters. Scrub the body before. */
export function excerpt(body: string, max = 200): string {
  const looksHtml = /^\s*</.test(body);
  const text = (looksHtml ? body.replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' ') : body)
    .replace(/\s+/g, ' ')
    .trim();
  if (text === '') return '(empty body)';
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** What replaces a secret. */
export const REDACTED = '***';

/**
 * Replaces every occurrence of each secret (e.g. a proxy echoing our headers) with `***`.
 * `cut`: the text is only the head of a longer one (a body over the size limit), so a secret may
 * have been split at its end: a tail that starts a secret is redacted too.
 */
export function scrub(text: string, secrets: readonly string[], cut = false): string {
  let out = text;
  for (const secret of secrets) {
    if (secret === '') continue;
    // Answers almost never hold the key: look before allocating (the initial sync is 100,000 answers).
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    if (cut) out = redactCutTail(out, secret);
  }
  return out;
}

/** The longest tail of `text` that is a head of `secret`, replaced with `***`. */
function redactCutTail(text: string, secret: string): string {
  for (let n = Math.min(secret.length - 1, text.length); n > 0; n--) {
    if (text.endsWith(secret.slice(0, n))) return `${text.slice(0, text.length - n)}${REDACTED}`;
  }
  return text;
}
