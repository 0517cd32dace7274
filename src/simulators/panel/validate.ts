// Strict validation of a sync request body, field by field, with the message the panel would give.
// Hand-written rather than a schema library: the benchmark sends 100k requests and the messages must be exact.
import {
  SIM_HYPERVISORS, SIM_STATUSES,
  type PanelRow, type SimAction, type SimHypervisor, type SimStatus,
} from './types.js';

export type RowFields = Omit<PanelRow, 'id' | 'created_at' | 'updated_at'>;

export type SyncRequest =
  | { readonly action: 'create'; readonly fields: RowFields }
  | { readonly action: 'update'; readonly id: number; readonly status: SimStatus; readonly patch: Partial<RowFields> }
  | { readonly action: 'delete'; readonly id: number };

export type Validated = { readonly ok: true; readonly request: SyncRequest } | { readonly ok: false; readonly message: string };

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPositiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;
const isStatus = (v: unknown): v is SimStatus => typeof v === 'string' && (SIM_STATUSES as readonly string[]).includes(v);
const isHypervisor = (v: unknown): v is SimHypervisor =>
  typeof v === 'string' && (SIM_HYPERVISORS as readonly string[]).includes(v);
const isName = (v: unknown): v is string => typeof v === 'string' && v.trim().length > 0;

/** Reads the action from an already-parsed body, or null when it is not one of the three. */
export function actionOf(body: unknown): SimAction | null {
  if (!isObject(body)) return null;
  const a = body['action'];
  return a === 'create' || a === 'update' || a === 'delete' ? a : null;
}

/** Validates a parsed JSON body; `isKnownUser` decides whether a `user_id` exists. */
export function validateSync(body: unknown, isKnownUser: (id: number) => boolean): Validated {
  if (!isObject(body)) return fail('body must be a JSON object');
  const action = actionOf(body);
  if (action === null) return fail('action must be one of create, update, delete');
  const vps = body['vps'];
  if (!isObject(vps)) return fail('vps must be an object');
  if (action === 'create') return validateCreate(vps, isKnownUser);
  if (!isPositiveInt(vps['id'])) return fail('vps.id must be a positive integer');
  if (action === 'delete') return { ok: true, request: { action, id: vps['id'] } };
  if (!isStatus(vps['status'])) return fail(`vps.status must be one of ${SIM_STATUSES.join(', ')}`);
  return { ok: true, request: { action, id: vps['id'], status: vps['status'], patch: validPatch(vps, isKnownUser) } };
}

function validateCreate(vps: Obj, isKnownUser: (id: number) => boolean): Validated {
  const { user_id, name, cpu, ram, disk, os, status } = vps;
  const hypervisor = vps['hypervisor'] ?? 'proxmox';
  if (!isPositiveInt(user_id)) return fail('vps.user_id must be a positive integer');
  if (!isKnownUser(user_id)) return fail('user not found');
  if (!isName(name)) return fail('vps.name must be a non-empty string');
  if (!isPositiveInt(cpu)) return fail('vps.cpu must be a positive integer');
  if (!isPositiveInt(ram)) return fail('vps.ram must be a positive integer (MB)');
  if (!isPositiveInt(disk)) return fail('vps.disk must be a positive integer (GB)');
  if (typeof os !== 'string') return fail('vps.os must be a string');
  if (!isStatus(status)) return fail(`vps.status must be one of ${SIM_STATUSES.join(', ')}`);
  if (!isHypervisor(hypervisor)) return fail(`vps.hypervisor must be one of ${SIM_HYPERVISORS.join(', ')}`);
  return { ok: true, request: { action: 'create', fields: { user_id, name, cpu, ram, disk, os, status, hypervisor } } };
}

// Update's extra fields are undocumented: the simulator applies the valid ones and ignores the rest.
function validPatch(vps: Obj, isKnownUser: (id: number) => boolean): Partial<RowFields> {
  const patch: Partial<RowFields> = {};
  if (isPositiveInt(vps['user_id']) && isKnownUser(vps['user_id'])) patch.user_id = vps['user_id'];
  if (isName(vps['name'])) patch.name = vps['name'];
  if (isPositiveInt(vps['cpu'])) patch.cpu = vps['cpu'];
  if (isPositiveInt(vps['ram'])) patch.ram = vps['ram'];
  if (isPositiveInt(vps['disk'])) patch.disk = vps['disk'];
  if (typeof vps['os'] === 'string') patch.os = vps['os'];
  if (isHypervisor(vps['hypervisor'])) patch.hypervisor = vps['hypervisor'];
  return patch;
}

function fail(message: string): Validated {
  return { ok: false, message };
}
