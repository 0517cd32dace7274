// Which guests of a cluster the daemon manages, by node, pool and tag. Include: a guest must
// match every include dimension given; exclude: matching any exclude dimension drops it.
import type { ProxmoxSourceConfig } from '../../config/schema.js';

type FilterLists = NonNullable<ProxmoxSourceConfig['include']>;

/** The fields a filter looks at (possibly absent on a malformed entry). */
export interface FilterFields {
  readonly node?: string;
  readonly pool?: string;
  readonly tags?: string;
}

/** Proxmox separates tags with `;`; people also write `,` or spaces. Lower-cased like PVE does by default. */
export function splitTags(tags: string | undefined): string[] {
  if (!tags) return [];
  return tags.split(/[;,\s]+/).filter(Boolean).map((t) => t.toLowerCase());
}

/**
 * The filter fields of a raw entry, or null when they cannot be read: not an object, no `node`
 * text, or a `pool`/`tags` that is there but not text. Such an entry cannot be told managed or
 * not, and dropping it as "filtered out" would make a managed VM look gone (a delete, in time).
 */
export function filterFieldsOf(raw: unknown): FilterFields | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const { node, pool, tags } = raw as Record<string, unknown>;
  if (typeof node !== 'string') return null;
  const optional = (v: unknown): v is string | undefined | null => v === undefined || v === null || typeof v === 'string';
  if (!optional(pool) || !optional(tags)) return null;
  return { node, pool: pool ?? undefined, tags: tags ?? undefined };
}

// An empty list counts as "not given": an empty include must not silently empty the source
// (which the guards would then read as every VM gone).
const given = (list: readonly string[] | undefined): list is readonly string[] => list !== undefined && list.length > 0;

/** Per-dimension matches of one guest against a set of lists; undefined when the dimension is not given. */
function matches(lists: FilterLists, g: FilterFields): boolean[] {
  const out: boolean[] = [];
  if (given(lists.nodes)) out.push(g.node !== undefined && lists.nodes.includes(g.node));
  if (given(lists.pools)) out.push(g.pool !== undefined && lists.pools.includes(g.pool));
  if (given(lists.tags)) {
    const wanted = lists.tags.map((t) => t.toLowerCase());
    const tags = splitTags(g.tags);
    out.push(tags.some((t) => wanted.includes(t)));
  }
  return out;
}

const anyGiven = (lists: FilterLists | undefined) => lists !== undefined && (given(lists.nodes) || given(lists.pools) || given(lists.tags));

/** Builds the predicate "this guest is managed by the daemon"; undefined when nothing is filtered. */
export function createGuestFilter(include: FilterLists | undefined, exclude: FilterLists | undefined): ((g: FilterFields) => boolean) | undefined {
  if (!anyGiven(include) && !anyGiven(exclude)) return undefined;
  return (g) => {
    if (include && !matches(include, g).every(Boolean)) return false;
    if (exclude && matches(exclude, g).some(Boolean)) return false;
    return true;
  };
}
