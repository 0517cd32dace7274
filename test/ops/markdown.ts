// GitHub-style heading anchors, to check that runbook links and in-page links resolve.

/** Anchors of every heading: lowercase, punctuation dropped, whitespace to dashes. */
export function headingAnchors(markdown: string): Set<string> {
  const out = new Set<string>();
  const withoutCode = markdown.replace(/^```[\s\S]*?^```/gm, '');
  for (const m of withoutCode.matchAll(/^#{1,6}\s+(.+?)\s*$/gm)) {
    out.add(m[1]!.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').trim().replace(/\s/g, '-'));
  }
  return out;
}
