// The simulated vCenter inventory: clusters → hosts → VMs, plus folders and resource pools.
// Plain data with the queries the REST handlers need; no HTTP here, so tests can drive it directly.

export type SimPowerState = 'POWERED_ON' | 'POWERED_OFF' | 'SUSPENDED';
export const SIM_POWER_STATES: readonly SimPowerState[] = ['POWERED_ON', 'POWERED_OFF', 'SUSPENDED'];

export type SimConnectionState = 'CONNECTED' | 'DISCONNECTED' | 'NOT_RESPONDING';
export const SIM_CONNECTION_STATES: readonly SimConnectionState[] = ['CONNECTED', 'DISCONNECTED', 'NOT_RESPONDING'];

export interface SimCluster { readonly id: string; readonly name: string }
export interface SimHost {
  readonly id: string;
  readonly name: string;
  readonly cluster: string | null;
  /** How vCenter sees the host; away from CONNECTED its VMs are listed as they were last seen. */
  connection: SimConnectionState;
  /** In standby (DPM or by hand): still connected, powered down, no powered-on VMs. */
  standby: boolean;
}
export interface SimFolder { readonly id: string; readonly name: string }
export interface SimPool { readonly id: string; readonly name: string; readonly cluster: string | null; readonly host: string | null }

export interface SimVm {
  readonly id: string;
  name: string;
  host: string;
  folder: string;
  pool: string;
  power: SimPowerState;
  cpu: number;
  coresPerSocket: number;
  memoryMiB: number;
  /** Capacities in bytes, one per virtual disk (keys 2000, 2001, …). */
  disks: number[];
  /** vSphere guest id, e.g. `UBUNTU_64`. */
  guestOs: string;
  /** What VMware Tools report as the full name, e.g. `Ubuntu Linux (64-bit)`. */
  guestFullName: string;
  /** VMware Tools installed and running (only answers while powered on). */
  tools: boolean;
  ipAddress: string | null;
  instanceUuid: string;
  /** Leave `cpu_count` / `memory_size_MiB` out of list entries, as vCenter does for some VMs. */
  omitSizesInList: boolean;
  /** Raw fields merged into this VM's list entry (tests use it to send malformed data). */
  listOverride: Record<string, unknown> | null;
  /**
   * The power state vCenter last saw, while the VM's host is not connected (null otherwise):
   * vCenter gets no heartbeats then, so what it lists is the state before the host went quiet,
   * whatever the VM did since (`power` is what the VM really does).
   */
  lastSeenPower: SimPowerState | null;
}

/** What a caller may give when creating or changing a VM; everything but the name has a default. */
export type SimVmInput = Partial<Omit<SimVm, 'id'>> & { readonly id?: string; readonly name: string };

/** A `GET /vcenter/vm` filter; an absent set means "no constraint", as in vSphere. */
export interface SimVmFilter {
  readonly vms?: ReadonlySet<string>;
  readonly names?: ReadonlySet<string>;
  readonly clusters?: ReadonlySet<string>;
  readonly hosts?: ReadonlySet<string>;
  readonly folders?: ReadonlySet<string>;
  readonly resourcePools?: ReadonlySet<string>;
  readonly powerStates?: ReadonlySet<string>;
}

/** The mutable inventory of one simulated vCenter. */
export class SimInventory {
  readonly clusters = new Map<string, SimCluster>();
  readonly hosts = new Map<string, SimHost>();
  readonly folders = new Map<string, SimFolder>();
  readonly pools = new Map<string, SimPool>();
  readonly vms = new Map<string, SimVm>();
  private nextId = 1000;

  /** Empties the inventory (ids keep counting up, so old ids are never reused). */
  clear(): void {
    this.clusters.clear();
    this.hosts.clear();
    this.folders.clear();
    this.pools.clear();
    this.vms.clear();
  }

  /** Adds a cluster and its root resource pool; returns the cluster id. */
  addCluster(name: string): string {
    const id = `domain-c${this.nextId++}`;
    this.clusters.set(id, { id, name });
    this.addPool('Resources', { cluster: id });
    return id;
  }

  /** Adds a host, in a cluster or standalone (then with its own root pool); returns the host id. */
  addHost(name: string, cluster: string | null): string {
    if (cluster !== null && !this.clusters.has(cluster)) throw new Error(`no cluster ${cluster}`);
    const id = `host-${this.nextId++}`;
    this.hosts.set(id, { id, name, cluster, connection: 'CONNECTED', standby: false });
    if (cluster === null) this.addPool('Resources', { host: id });
    return id;
  }

  /** Adds a VM folder; returns its id. */
  addFolder(name: string): string {
    const id = `group-v${this.nextId++}`;
    this.folders.set(id, { id, name });
    return id;
  }

  /** Adds a resource pool under a cluster or a standalone host; returns its id. */
  addPool(name: string, owner: { cluster?: string; host?: string }): string {
    const id = `resgroup-${this.nextId++}`;
    this.pools.set(id, { id, name, cluster: owner.cluster ?? null, host: owner.host ?? null });
    return id;
  }

  /** Creates a VM, or changes the given fields of an existing one; returns its id. */
  upsertVm(input: SimVmInput): string {
    const existing = input.id === undefined ? undefined : this.vms.get(input.id);
    if (existing) {
      const movedFrom = existing.host;
      Object.assign(existing, withoutUndefined(input), { id: existing.id });
      // Moved (an HA restart, a re-registration): vCenter sees it as its new host lets it.
      if (existing.host !== movedFrom) existing.lastSeenPower = this.hosts.get(existing.host)?.connection === 'CONNECTED' ? null : existing.power;
      this.wakeHostOf(existing);
      return existing.id;
    }
    const id = input.id ?? `vm-${this.nextId++}`;
    const host = input.host ?? this.firstHost();
    const vm: SimVm = {
      folder: input.folder ?? this.firstFolder(),
      pool: input.pool ?? this.rootPoolOf(host),
      power: 'POWERED_ON',
      cpu: 2,
      coresPerSocket: 1,
      memoryMiB: 4096,
      disks: [20 * 1024 ** 3],
      guestOs: 'UBUNTU_64',
      guestFullName: 'Ubuntu Linux (64-bit)',
      tools: true,
      ipAddress: null,
      instanceUuid: fakeUuid(this.nextId),
      omitSizesInList: false,
      listOverride: null,
      lastSeenPower: null,
      ...withoutUndefined(input),
      id,
      name: input.name,
      host,
    };
    // A VM put on a host vCenter cannot reach is seen as it is now, and then no more.
    if (this.hosts.get(host)?.connection !== 'CONNECTED') vm.lastSeenPower = vm.power;
    this.vms.set(id, vm);
    this.wakeHostOf(vm);
    return id;
  }

  /** Powers a VM on, off, or suspends it; powering on wakes its host from standby. */
  setVmPower(id: string, power: SimPowerState): void {
    const vm = this.vm(id);
    vm.power = power;
    this.wakeHostOf(vm);
  }

  /**
   * A VM that is not off cannot run on a host in standby: vCenter (DPM) powers the host on first,
   * so the simulator never shows a STANDBY host with a powered-on VM.
   */
  private wakeHostOf(vm: SimVm): void {
    const host = this.hosts.get(vm.host);
    if (host?.standby && vm.power !== 'POWERED_OFF') host.standby = false;
  }

  /**
   * Changes how vCenter sees a host. Leaving CONNECTED freezes the power state listed for its
   * VMs; coming back shows their real state again.
   */
  setHostConnection(hostId: string, connection: SimConnectionState): void {
    const host = this.hosts.get(hostId);
    if (!host) throw new Error(`no host ${hostId}`);
    const wasConnected = host.connection === 'CONNECTED';
    host.connection = connection;
    for (const vm of this.vms.values()) {
      if (vm.host !== hostId) continue;
      if (connection === 'CONNECTED') vm.lastSeenPower = null;
      else if (wasConnected) vm.lastSeenPower = vm.power;
    }
  }

  /**
   * Puts a host in standby or takes it out. Like DPM, only a connected host whose VMs are all
   * off (the running ones are migrated away first; here that is the caller's job).
   */
  setHostStandby(hostId: string, standby: boolean): void {
    const host = this.hosts.get(hostId);
    if (!host) throw new Error(`no host ${hostId}`);
    if (standby) {
      if (host.connection !== 'CONNECTED') throw new Error(`host ${hostId} is ${host.connection}: only a connected host enters standby`);
      const running = [...this.vms.values()].filter((vm) => vm.host === hostId && vm.power !== 'POWERED_OFF');
      if (running.length > 0) throw new Error(`host ${hostId} still runs ${running.map((vm) => vm.id).join(', ')}: migrate or power them off first`);
    }
    host.standby = standby;
  }

  /** Deletes a VM; false when it did not exist. */
  removeVm(id: string): boolean {
    return this.vms.delete(id);
  }

  /** The VM or a thrown error naming the id (for programmatic fault setup). */
  vm(id: string): SimVm {
    const vm = this.vms.get(id);
    if (!vm) throw new Error(`no VM ${id}`);
    return vm;
  }

  /** The cluster a VM runs in, via its host; null on a standalone host. */
  clusterOf(vm: SimVm): string | null {
    return this.hosts.get(vm.host)?.cluster ?? null;
  }

  /** VMs matching a vSphere filter: within one field any value matches, fields are ANDed. */
  *matchingVms(filter: SimVmFilter): Generator<SimVm> {
    for (const vm of this.vms.values()) {
      if (filter.vms && !filter.vms.has(vm.id)) continue;
      if (filter.names && !filter.names.has(vm.name)) continue;
      if (filter.hosts && !filter.hosts.has(vm.host)) continue;
      if (filter.folders && !filter.folders.has(vm.folder)) continue;
      if (filter.resourcePools && !filter.resourcePools.has(vm.pool)) continue;
      if (filter.powerStates && !filter.powerStates.has(vm.lastSeenPower ?? vm.power)) continue;
      if (filter.clusters) {
        const cluster = this.clusterOf(vm);
        if (cluster === null || !filter.clusters.has(cluster)) continue;
      }
      yield vm;
    }
  }

  private firstHost(): string {
    const first = this.hosts.keys().next();
    if (first.done) return this.addHost('esx-default.sim.local', this.firstCluster());
    return first.value;
  }

  private firstCluster(): string {
    const first = this.clusters.keys().next();
    return first.done ? this.addCluster('Default') : first.value;
  }

  private firstFolder(): string {
    const first = this.folders.keys().next();
    return first.done ? this.addFolder('vm') : first.value;
  }

  private rootPoolOf(hostId: string): string {
    const host = this.hosts.get(hostId);
    if (!host) throw new Error(`no host ${hostId}`);
    for (const pool of this.pools.values()) {
      if (host.cluster !== null ? pool.cluster === host.cluster : pool.host === hostId) return pool.id;
    }
    throw new Error(`host ${hostId} has no resource pool`);
  }
}

/** A stable UUID-shaped string derived from a number (no randomness: seeds must be reproducible). */
export function fakeUuid(n: number): string {
  const hex = n.toString(16).padStart(12, '0').slice(-12);
  return `42${hex.slice(0, 6)}-0000-4000-8000-${hex}`;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
