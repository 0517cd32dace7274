// Deterministic inventories for tests and the benchmark: the same options always give the same VMs.
import type { SimInventory, SimPowerState } from './inventory.js';
import { seededRandom } from '../rng.js';

export interface SeedOptions {
  /** Clusters to create (default 2). */
  readonly clusters?: number;
  /** Hosts in each cluster (default 2). */
  readonly hostsPerCluster?: number;
  /** Hosts outside any cluster (default 0). */
  readonly standaloneHosts?: number;
  /** PRNG seed (default 1). */
  readonly seed?: number;
  /**
   * Share of clustered VMs per cluster, e.g. [0.5, 0.3, 0.2]; even by default.
   * Lets a test put more than the list limit into one cluster.
   */
  readonly clusterShare?: readonly number[];
  /** Share of VMs on standalone hosts (default 0, or 0.02 when there are standalone hosts). */
  readonly standaloneShare?: number;
}

const GUESTS: readonly (readonly [string, string])[] = [
  ['UBUNTU_64', 'Ubuntu Linux (64-bit)'],
  ['DEBIAN11_64', 'Debian GNU/Linux 11 (64-bit)'],
  ['CENTOS_8_64', 'CentOS 8 (64-bit)'],
  ['RHEL_8_64', 'Red Hat Enterprise Linux 8 (64-bit)'],
  ['WINDOWS_9_SERVER_64', 'Microsoft Windows Server 2016 or later (64-bit)'],
];
const CPUS = [1, 2, 2, 4, 4, 8, 16];
const MEMORY_MIB = [1024, 2048, 4096, 4096, 8192, 16384, 32768];
const DISK_GIB = [10, 20, 40, 80, 160, 500];
const GIB = 1024 ** 3;

/** Replaces the inventory with `n` VMs spread over clusters and hosts, reproducibly from `seed`. */
export function seedInventory(inv: SimInventory, n: number, options: SeedOptions = {}): void {
  const clusterCount = options.clusters ?? 2;
  const hostsPerCluster = options.hostsPerCluster ?? 2;
  const standaloneCount = options.standaloneHosts ?? 0;
  const random = seededRandom(options.seed ?? 1);
  if (options.clusterShare && options.clusterShare.length !== clusterCount) {
    throw new Error(`clusterShare has ${options.clusterShare.length} entries for ${clusterCount} clusters`);
  }
  inv.clear();

  const folders = [inv.addFolder('vm'), inv.addFolder('Customers'), inv.addFolder('Internal')];
  const clusterHosts: { hosts: string[]; pools: string[] }[] = [];
  for (let c = 0; c < clusterCount; c++) {
    const cluster = inv.addCluster(`Cluster-${c + 1}`);
    const hosts = Array.from({ length: hostsPerCluster }, (_, h) => inv.addHost(`esx-${c + 1}-${h + 1}.sim.local`, cluster));
    const root = [...inv.pools.values()].find((p) => p.cluster === cluster)!.id;
    clusterHosts.push({ hosts, pools: [root, inv.addPool(`Customers-${c + 1}`, { cluster })] });
  }
  const standalone = Array.from({ length: standaloneCount }, (_, h) => inv.addHost(`esx-standalone-${h + 1}.sim.local`, null));

  const standaloneShare = standalone.length === 0 ? 0 : (options.standaloneShare ?? 0.02);
  const standaloneVms = clusterHosts.length === 0 ? n : Math.round(n * standaloneShare);
  const perCluster = splitCounts(n - standaloneVms, options.clusterShare ?? clusterHosts.map(() => 1));

  let index = 0;
  const addVm = (host: string, pool: string) => {
    index++;
    const [guestOs, guestFullName] = pick(random, GUESTS);
    const roll = random();
    const power: SimPowerState = roll < 0.8 ? 'POWERED_ON' : roll < 0.95 ? 'POWERED_OFF' : 'SUSPENDED';
    const diskCount = random() < 0.3 ? 2 : 1;
    inv.upsertVm({
      name: `vps-${String(index).padStart(6, '0')}`,
      host,
      pool,
      folder: pick(random, folders),
      power,
      cpu: pick(random, CPUS),
      memoryMiB: pick(random, MEMORY_MIB),
      // Some disks are not whole GiB, so rounding up is exercised.
      disks: Array.from({ length: diskCount }, () => pick(random, DISK_GIB) * GIB + (random() < 0.2 ? 512 * 1024 ** 2 : 0)),
      guestOs,
      guestFullName,
      tools: random() < 0.9,
      ipAddress: `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`,
      omitSizesInList: random() < 0.01,
    });
  };
  clusterHosts.forEach(({ hosts, pools }, c) => {
    for (let i = 0; i < perCluster[c]!; i++) addVm(hosts[i % hosts.length]!, pools[i % pools.length]!);
  });
  if (clusterHosts.length === 0 && standalone.length === 0 && n > 0) standalone.push(inv.addHost('esx-standalone-1.sim.local', null));
  for (let i = 0; i < standaloneVms; i++) {
    const host = standalone[i % standalone.length]!;
    const pool = [...inv.pools.values()].find((p) => p.host === host)!.id;
    addVm(host, pool);
  }
}

/** Splits `total` proportionally to `weights`, the remainder going to the first buckets. */
function splitCounts(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (weights.length === 0 || sum <= 0) return [];
  const counts = weights.map((w) => Math.floor((total * w) / sum));
  let rest = total - counts.reduce((a, b) => a + b, 0);
  for (let i = 0; rest > 0; i = (i + 1) % counts.length, rest--) counts[i]!++;
  return counts;
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

