// Markdown helpers for the docs tests: GitHub-style heading anchors (runbook links and in-page
// links must resolve), fenced code blocks and inline code (commands the docs tell people to run).

/** Anchors of every heading: lowercase, punctuation dropped, whitespace to dashes. */
export function headingAnchors(markdown: string): Set<string> {
  const out = new Set<string>();
  const withoutCode = markdown.replace(/^```[\s\S]*?^```/gm, '');
  for (const m of withoutCode.matchAll(/^#{1,6}\s+(.+?)\s*$/gm)) {
    out.add(m[1]!.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').trim().replace(/\s/g, '-'));
  }
  return out;
}

/** The bodies of the fenced code blocks whose info string is one of `languages`. */
export function fencedBlocks(markdown: string, languages: readonly string[]): string[] {
  return [...markdown.matchAll(/^[ \t]*```([\w-]*)[^\n]*\n([\s\S]*?)^[ \t]*```/gm)].filter((m) => languages.includes(m[1]!)).map((m) => m[2]!);
}

/** The inline code spans outside fenced blocks (a span may wrap onto the next line). */
export function codeSpans(markdown: string): string[] {
  const withoutBlocks = markdown.replace(/^[ \t]*```[\s\S]*?^[ \t]*```/gm, '');
  return [...withoutBlocks.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
}
