// The JSON bodies vCenter sends, per API flavour. `/api` (7.0 U2+) keys devices by id in objects;
// `/rest` (6.5–7.0) sends the same maps as lists of {key, value} pairs and has no `identity` block.
import type { SimCluster, SimFolder, SimHost, SimInventory, SimPool, SimPowerState, SimVm } from './inventory.js';

export type Flavor = 'api' | 'rest';

/** One `GET /vcenter/vm` summary; sizes left out when the VM says so, raw overrides merged last. */
export function vmSummary(vm: SimVm): Record<string, unknown> {
  const entry: Record<string, unknown> = { vm: vm.id, name: vm.name, power_state: reportedPower(vm) };
  if (!vm.omitSizesInList) {
    entry.cpu_count = vm.cpu;
    entry.memory_size_MiB = vm.memoryMiB;
  }
  return vm.listOverride ? { ...entry, ...vm.listOverride } : entry;
}

/** `GET /vcenter/vm/{vm}` for the given flavour. */
export function vmDetail(vm: SimVm, flavor: Flavor): Record<string, unknown> {
  const disks: [string, unknown][] = vm.disks.map((capacity, i) => [
    String(2000 + i),
    {
      label: `Hard disk ${i + 1}`,
      type: 'SCSI',
      capacity,
      scsi: { bus: 0, unit: i },
      backing: { type: 'VMDK_FILE', vmdk_file: `[datastore1] ${vm.name}/${vm.name}${i === 0 ? '' : `_${i}`}.vmdk` },
    },
  ]);
  const nics: [string, unknown][] = [[
    '4000',
    {
      label: 'Network adapter 1',
      type: 'VMXNET3',
      mac_type: 'ASSIGNED',
      mac_address: `00:50:56:${vm.instanceUuid.slice(-6).match(/../g)!.join(':')}`,
      state: reportedPower(vm) === 'POWERED_ON' ? 'CONNECTED' : 'NOT_CONNECTED',
      start_connected: true,
      allow_guest_control: true,
      wake_on_lan_enabled: false,
      upt_compatibility_enabled: true,
      backing: { type: 'DISTRIBUTED_PORTGROUP', network: 'dvportgroup-21', distributed_switch_uuid: '50 1a 2b 3c' },
    },
  ]];
  const scsi: [string, unknown][] = [['1000', { label: 'SCSI controller 0', type: 'PVSCSI', scsi: { bus: 0, unit: 7 }, sharing: 'NONE' }]];
  const devices = (pairs: [string, unknown][]) =>
    flavor === 'api' ? Object.fromEntries(pairs) : pairs.map(([key, value]) => ({ key, value }));
  const detail: Record<string, unknown> = {
    name: vm.name,
    power_state: reportedPower(vm),
    guest_OS: vm.guestOs,
    cpu: { count: vm.cpu, cores_per_socket: vm.coresPerSocket, hot_add_enabled: false, hot_remove_enabled: false },
    memory: { size_MiB: vm.memoryMiB, hot_add_enabled: false },
    hardware: { upgrade_policy: 'NEVER', upgrade_status: 'NONE', version: flavor === 'api' ? 'VMX_19' : 'VMX_14' },
    boot: { type: 'BIOS', delay: 0, retry: false, retry_delay: 10000, enter_setup_mode: false },
    boot_devices: [],
    disks: devices(disks),
    nics: devices(nics),
    scsi_adapters: devices(scsi),
    sata_adapters: devices([]),
    cdroms: devices([]),
    floppies: devices([]),
    parallel_ports: devices([]),
    serial_ports: devices([]),
  };
  if (flavor === 'api') {
    detail.identity = { name: vm.name, instance_uuid: vm.instanceUuid, bios_uuid: vm.instanceUuid.replace(/^42/, '56') };
    detail.instant_clone_frozen = false;
  }
  return detail;
}

/** `GET /vcenter/vm/{vm}/guest/identity` (only ever sent while Tools run). */
export function guestIdentity(vm: SimVm): Record<string, unknown> {
  const family = vm.guestOs.startsWith('WINDOWS') ? 'WINDOWS' : 'LINUX';
  const identity: Record<string, unknown> = {
    name: vm.guestOs,
    family,
    full_name: { id: `vmsg.guestos.${vm.guestOs.toLowerCase()}.label`, default_message: vm.guestFullName, args: [] },
    host_name: vm.name,
  };
  if (vm.ipAddress) identity.ip_address = vm.ipAddress;
  return identity;
}

/** `GET /vcenter/cluster` entry. */
export function clusterSummary(c: SimCluster): Record<string, unknown> {
  return { cluster: c.id, name: c.name, ha_enabled: true, drs_enabled: true };
}

/**
 * `GET /vcenter/host` entry; vCenter leaves `power_state` out unless the host is connected (it
 * cannot know it otherwise), so a host in standby is CONNECTED with power_state STANDBY.
 */
export function hostSummary(h: SimHost): Record<string, unknown> {
  return h.connection === 'CONNECTED'
    ? { host: h.id, name: h.name, connection_state: h.connection, power_state: h.standby ? 'STANDBY' : 'POWERED_ON' }
    : { host: h.id, name: h.name, connection_state: h.connection };
}

/** What vCenter lists as a VM's power state: the last one it saw while the host is not connected. */
function reportedPower(vm: SimVm): SimPowerState {
  return vm.lastSeenPower ?? vm.power;
}

/** `GET /vcenter/folder` entry. */
export function folderSummary(f: SimFolder): Record<string, unknown> {
  return { folder: f.id, name: f.name, type: 'VIRTUAL_MACHINE' };
}

/** `GET /vcenter/resource-pool` entry. */
export function poolSummary(p: SimPool): Record<string, unknown> {
  return { resource_pool: p.id, name: p.name };
}

/** Counts for the control API, so a benchmark can check what it is talking to. */
export function inventorySummary(inv: SimInventory): Record<string, number> {
  return { clusters: inv.clusters.size, hosts: inv.hosts.size, folders: inv.folders.size, resourcePools: inv.pools.size, vms: inv.vms.size };
}
