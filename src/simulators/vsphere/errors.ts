// vAPI errors as each flavour spells them: `/api` → {error_type, messages}; `/rest` → {type, value: {messages}}.
import type { Flavor } from './render.js';

/** A vAPI standard error kind, in `/api` spelling. */
export type SimErrorKind =
  | 'UNAUTHENTICATED'
  | 'NOT_FOUND'
  | 'SERVICE_UNAVAILABLE'
  | 'UNABLE_TO_ALLOCATE_RESOURCE'
  | 'INVALID_ARGUMENT'
  | 'ERROR';

/** Thrown by a handler to answer with a vAPI error. */
export class SimError extends Error {
  constructor(
    readonly status: number,
    readonly kind: SimErrorKind,
    readonly messageId: string,
    message: string,
  ) {
    super(message);
  }
}

/** The error body for a flavour. */
export function errorBody(error: SimError, flavor: Flavor): unknown {
  const messages = [{ id: error.messageId, default_message: error.message, args: [] }];
  if (flavor === 'api') return { error_type: error.kind, messages };
  return { type: `com.vmware.vapi.std.errors.${error.kind.toLowerCase()}`, value: { messages } };
}

/** 401 for calls without a valid session. */
export function unauthenticated(): SimError {
  return new SimError(401, 'UNAUTHENTICATED', 'vapi.method.authentication.required', 'This method requires authentication.');
}

/** 500 when a VM listing would exceed the limit (real vCenter id and text). */
export function tooManyVms(): SimError {
  return new SimError(
    500,
    'UNABLE_TO_ALLOCATE_RESOURCE',
    'com.vmware.api.vcenter.vm.unable_to_allocate_resource',
    'Too many virtual machines. Add more filter criteria to reduce the number.',
  );
}

/** 404 for an unknown VM id. */
export function vmNotFound(vm: string): SimError {
  return new SimError(404, 'NOT_FOUND', 'com.vmware.api.vcenter.vm.not_found', `Virtual machine with identifier '${vm}' does not exist.`);
}

/** 503 from guest endpoints when VMware Tools do not answer. */
export function toolsNotRunning(): SimError {
  return new SimError(503, 'SERVICE_UNAVAILABLE', 'com.vmware.api.vcenter.vm.guest.tools_not_running', 'VMware Tools is not running in the virtual machine.');
}
