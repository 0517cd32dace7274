// Text helpers for error messages: short single-line excerpts of bodies, and secret scrubbing.

/** A single-line excerpt of a body (HTML tags dropped), at most `max` characters. */
export function excerpt(body: string, max = 200): string {
  const looksHtml = /^\s*</.test(body);
  const text = (looksHtml ? body.replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' ') : body)
    .replace(/\s+/g, ' ')
    .trim();
  if (text === '') return '(empty body)';
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Replaces every occurrence of `secret` (e.g. a proxy echoing our headers) with `***`. */
export function scrub(text: string, secret: string): string {
  return secret === '' ? text : text.split(secret).join('***');
}
