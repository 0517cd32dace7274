// The words an operator reads about guests listed without a state: grouped by node, busiest first.
import { describe, expect, it } from 'vitest';
import { nodesText, unreportedByNode, unreportedLine } from '../../src/engine/unreported.js';

const on = (node: string, n: number) => Array.from({ length: n }, (_, i) => ({ vmId: `${node}-${i}`, node }));

describe('unreported guests, as told', () => {
  it.each([
    { name: 'one node', guests: on('pve3', 2), byNode: [['pve3', 2]], text: 'pve3 (2)' },
    { name: 'busiest node first, ties by name', guests: [...on('b', 1), ...on('c', 3), ...on('a', 1)], byNode: [['c', 3], ['a', 1], ['b', 1]], text: 'c (3), a (1), b (1)' },
    {
      name: 'at most five nodes named',
      guests: ['n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7'].flatMap((n, i) => on(n, 7 - i)),
      byNode: [['n1', 7], ['n2', 6], ['n3', 5], ['n4', 4], ['n5', 3], ['n6', 2], ['n7', 1]],
      text: 'n1 (7), n2 (6), n3 (5), n4 (4), n5 (3) and 2 more',
    },
  ])('$name', ({ guests, byNode, text }) => {
    const grouped = unreportedByNode(guests);
    expect(grouped).toEqual(byNode);
    expect(nodesText(grouped)).toBe(text);
    expect(unreportedLine('pve1', guests.length, grouped)).toBe(
      `source pve1: ${guests.length} guest(s) listed without a state on ${text} — offline or not reporting to its cluster or vCenter; their panel VPSes are left as they are until it reports again`,
    );
  });
});
