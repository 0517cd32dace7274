// The closed label sets the metrics pre-initialise, checked against the engine's types so a
// new action result or pass result cannot be added without appearing here.
import type { ActionKind, VmPower } from '../domain/types.js';
import type { ActionResult, PassResult } from '../engine/observer.js';

export const ACTION_KINDS = ['create', 'update', 'delete'] as const satisfies readonly ActionKind[];
export const ACTION_RESULTS = ['ok', 'rejected', 'unauthorized', 'not_found', 'retryable', 'ambiguous', 'skipped'] as const satisfies readonly ActionResult[];
export const PASS_RESULTS = ['success', 'partial', 'failed'] as const satisfies readonly PassResult[];
export const VM_POWERS = ['running', 'stopped', 'suspended', 'creating'] as const satisfies readonly VmPower[];

// Compile-time exhaustiveness: each line fails to type-check if a union member is missing above.
type Exhaustive<All, Listed> = [Exclude<All, Listed>] extends [never] ? true : never;
export const LABELS_EXHAUSTIVE: [
  Exhaustive<ActionKind, (typeof ACTION_KINDS)[number]>,
  Exhaustive<ActionResult, (typeof ACTION_RESULTS)[number]>,
  Exhaustive<PassResult, (typeof PASS_RESULTS)[number]>,
  Exhaustive<VmPower, (typeof VM_POWERS)[number]>,
] = [true, true, true, true];
