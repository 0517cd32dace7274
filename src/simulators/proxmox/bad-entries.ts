// A catalogue of malformed `/cluster/resources` guest entries, injected by the `badEntries`
// fault to prove that the client rejects each one individually and keeps the rest.

/** Names of the malformed entries the simulator can inject. */
export const BAD_ENTRY_CASES = [
  'vmidString',
  'vmidMissing',
  'memString',
  'memNegative',
  'memAbsurd',
  'diskAbsurd',
  'cpuAbsurd',
  'nameHuge',
  'nameControl',
  'statusUnknown',
  'typeUnknown',
  'nodeMissing',
] as const;
export type BadEntryCase = (typeof BAD_ENTRY_CASES)[number];

const GIB = 1024 ** 3;

function base(vmid: number): Record<string, unknown> {
  return {
    cpu: 0, disk: 0, id: `qemu/${vmid}`, maxcpu: 2, maxdisk: 32 * GIB, maxmem: 4 * GIB, mem: 0,
    name: `bad-${vmid}`, node: 'pve1', status: 'running', template: 0, type: 'qemu', uptime: 10, vmid,
  };
}

/** Builds one malformed entry; vmids from 990001 so they never collide with seeded guests. */
export function badEntry(kind: BadEntryCase): Record<string, unknown> {
  const vmid = 990001 + BAD_ENTRY_CASES.indexOf(kind);
  const e = base(vmid);
  switch (kind) {
    case 'vmidString': e.vmid = String(vmid); break;
    case 'vmidMissing': delete e.vmid; break;
    case 'memString': e.maxmem = '4096'; break;
    case 'memNegative': e.maxmem = -1; break;
    case 'memAbsurd': e.maxmem = 2 ** 60; break;
    case 'diskAbsurd': e.maxdisk = 2 ** 62; break;
    case 'cpuAbsurd': e.maxcpu = 5000; break;
    case 'nameHuge': e.name = 'x'.repeat(10_240); break;
    case 'nameControl': e.name = 'evil\u0000\u001b[31mred\nnewline'; break;
    case 'statusUnknown': e.status = 'exploded'; break;
    case 'typeUnknown': e.type = 'openvz'; e.id = `openvz/${vmid}`; break;
    case 'nodeMissing': delete e.node; break;
  }
  return e;
}
