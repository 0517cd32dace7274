// Shapes shared by the panel simulator's parts: its table rows, its options and its faults.

export type SimAction = 'create' | 'update' | 'delete';
export const SIM_ACTIONS: readonly SimAction[] = ['create', 'update', 'delete'];

export type SimStatus = 'creating' | 'running' | 'stopped' | 'suspended';
export const SIM_STATUSES: readonly SimStatus[] = ['creating', 'running', 'stopped', 'suspended'];

/** Every hypervisor the real panel accepts, not only the two the daemon observes. */
export type SimHypervisor = 'proxmox' | 'vmware' | 'hyperv' | 'kvm' | 'xen';
export const SIM_HYPERVISORS: readonly SimHypervisor[] = ['proxmox', 'vmware', 'hyperv', 'kvm', 'xen'];

/** One VPS as the panel's MySQL table would hold it (RAM in MB, disk in GB). */
export interface PanelRow {
  id: number;
  user_id: number;
  name: string;
  cpu: number;
  ram: number;
  disk: number;
  os: string;
  status: SimStatus;
  hypervisor: SimHypervisor;
  created_at: string;
  updated_at: string;
}

/** One committed change of the table (`history()`), so tests can check what happened over time, not only the end state. */
export interface TableEvent {
  /** 1, 2, 3… in commit order. */
  readonly seq: number;
  /** The simulator clock (ms) when the change was committed. */
  readonly at: number;
  readonly change: SimAction;
  /** The row after a create/update, as it was before a delete. */
  readonly row: PanelRow;
}

/** How the panel answers update/delete of an id it does not have (the real one does not check). */
export type UnknownIdBehaviour = '404' | '200';

/** Behaviour switches that can change at run time (also over `POST /_sim/config`). */
export interface SimBehaviour {
  /** `'any'` accepts every positive user id; a list makes others a 400 "user not found". */
  knownUserIds: readonly number[] | 'any';
  unknownId: UnknownIdBehaviour;
  /** Status of a successful answer: the manuals disagree between 200 and 201. */
  successStatus: 200 | 201;
}

/** What a fault does to one request. */
export type FaultMode =
  /** Answer this 5xx without touching the table. */
  | { readonly mode: 'status5xx'; readonly code?: number }
  /** Drop the connection without doing anything. */
  | { readonly mode: 'resetBeforeCommit' }
  /** Apply the request, then drop the connection: the client cannot know it worked. */
  | { readonly mode: 'resetAfterCommit' }
  /** Apply the request, then answer 500: a client that retries a create makes a duplicate. */
  | { readonly mode: 'commitThenFail' }
  /** Delay the answer; commit before the delay (default) or after it (only if the client still waits). */
  | { readonly mode: 'slowMs'; readonly ms: number; readonly commit?: 'before' | 'after' }
  /** Answer a reverse proxy's HTML 502 page without reaching the panel. */
  | { readonly mode: 'nonJson' }
  /**
   * Answer what something in front of the panel would, without reaching it: a proxy's 404 page, Go's
   * `404 page not found` for a missing route, a single-sign-on login page with 200, an empty 404.
   * `{{name}}` in the body becomes the request's header `name` (lower case): a proxy echoing the request.
   */
  | { readonly mode: 'foreign'; readonly status: number; readonly body?: string; readonly contentType?: string };

/** When a fault applies: one-shot (`times`), probabilistic, sticky (neither), optionally per action. */
export interface FaultTrigger {
  /** Fire this many times, then disappear. */
  readonly times?: number;
  /** Fire with this probability (seeded RNG, so runs repeat). */
  readonly probability?: number;
  /** Only requests with this action. */
  readonly action?: SimAction;
}

export type FaultSpec = FaultMode & FaultTrigger;

/** An installed fault, with its id for removal and how often it fired. */
export interface InstalledFault {
  readonly id: number;
  readonly spec: FaultSpec;
  remaining: number | null;
  fired: number;
}
