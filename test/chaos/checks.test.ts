// The chaos suite's delete property on hand-made histories: it must accept the deletes the daemon
// is meant to make and refuse one that no event since the VPS was made can justify — an old
// removal of a VM that came back says nothing about the VPS created for it afterwards.
import { describe, expect, it } from 'vitest';
import type { PanelRow, TableEvent } from '../../src/simulators/panel/index.js';
import { historyProblems } from './harness/checks.js';
import type { KeyEvent, Model } from './harness/model.js';

const NAME = 'vm100-g1';

function row(id: number): PanelRow {
  return { id, user_id: 5, name: NAME, cpu: 1, ram: 1024, disk: 10, os: 'Debian', status: 'running', hypervisor: 'proxmox', created_at: '', updated_at: '' };
}

function change(seq: number, at: number, kind: TableEvent['change'], id: number): TableEvent {
  return { seq, at, change: kind, row: row(id) };
}

function model(events: KeyEvent[]): Model {
  return { events, pushableNames: new Set([NAME]), ownersEver: new Map([[100, new Set([5])]]) } as unknown as Model;
}

describe('the chaos history check on deletes', () => {
  // VPS #1 made by the pass that began at 1,000; the VM hidden at 3,000; #1 deleted at 6,000; the VM
  // back, and #2 made by the pass that began at 9,000.
  const passStarts = [1_000, 5_000, 9_000, 12_000];
  const hidden: KeyEvent = { at: 3_000, vmid: 100, what: 'removed' };
  const base = [change(1, 1_100, 'create', 1), change(2, 6_100, 'delete', 1), change(3, 9_100, 'create', 2)];

  it('accepts a delete that follows the VM’s removal', () => {
    expect(historyProblems(base, model([hidden]), new Set(), passStarts)).toEqual([]);
  });

  it('refuses a delete of the VPS made after the VM came back, when nothing happened to the VM since', () => {
    const problems = historyProblems([...base, change(4, 12_100, 'delete', 2)], model([hidden]), new Set(), passStarts);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/deleted #2 .* not removed, reused or moved to another customer between the pass that created it \(began 1970-01-01T00:00:09.000Z\)/);
  });

  it('accepts it when the VM went again after that pass began, even before the create was committed', () => {
    const goneAgain: KeyEvent = { at: 9_050, vmid: 100, what: 'removed' };
    expect(historyProblems([...base, change(4, 12_100, 'delete', 2)], model([hidden, goneAgain]), new Set(), passStarts)).toEqual([]);
  });

  it('accepts an event noted up to a second before the creating pass began (the model notes a billing change just before making it)', () => {
    const owner: KeyEvent = { at: 8_200, vmid: 100, what: 'owner' };
    expect(historyProblems([...base, change(4, 12_100, 'delete', 2)], model([hidden, owner]), new Set(), passStarts)).toEqual([]);
  });
});
