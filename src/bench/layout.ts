// How the benchmark spreads N VMs over its sources, and the fixed credentials of the simulators.
// Deterministic, so two runs of the same size see the same inventory.

/** The simulators' fixed credentials: loopback-only test values, not secrets. */
export const API_KEY = 'bench-api-key-0123456789abcdef0123456789';
export const TOKEN_ID = 'sync@pve!bench';
export const TOKEN_SECRET = '7c1e4b2a-5d3f-4e6a-9b8c-0d1e2f3a4b5c';
export const VC_USER = 'administrator@vsphere.local';
export const VC_PASSWORD = 'bench-vc-password';

/**
 * Creates the panel-ceiling load generator sends before it starts measuring (JIT, connections,
 * the simulator's own warm-up). The daemon's sending rate is also reported from this many creates
 * on, so the two are compared past the same warm-up.
 */
export const GENERATOR_WARMUP_CREATES = 5000;

/** One Proxmox cluster of the benchmark. */
export interface ProxmoxPart {
  readonly name: string;
  readonly vms: number;
  readonly nodes: readonly string[];
  readonly seed: number;
  /** Disjoint VMID ranges, so the main site's built-in billing query (no source column) matches each id once. */
  readonly startVmid: number;
}

export interface Layout {
  readonly total: number;
  readonly proxmox: readonly ProxmoxPart[];
  /** VMs on the vSphere source (0 = no vSphere source). */
  readonly vsphereVms: number;
  readonly vsphereClusters: number;
  readonly vsphereHostsPerCluster: number;
}

/** 60% / 30% on two Proxmox clusters (6 and 3 nodes), 10% on one vCenter (2 clusters × 4 hosts). */
export function layoutFor(total: number, withVsphere: boolean): Layout {
  const vsphereVms = withVsphere ? Math.round(total * 0.1) : 0;
  const a = Math.round((total - vsphereVms) * (2 / 3));
  const b = total - vsphereVms - a;
  return {
    total,
    proxmox: [
      { name: 'pve-a', vms: a, nodes: ['pve-a1', 'pve-a2', 'pve-a3', 'pve-a4', 'pve-a5', 'pve-a6'], seed: 11, startVmid: 100 },
      { name: 'pve-b', vms: b, nodes: ['pve-b1', 'pve-b2', 'pve-b3'], seed: 12, startVmid: 10_000_000 },
    ],
    vsphereVms,
    vsphereClusters: 2,
    vsphereHostsPerCluster: 4,
  };
}
