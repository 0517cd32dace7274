// The VMware vSphere source: public entry points.
export { createVmwareSource, type VmwareSource, type VmwareSourceDeps, type VmwarePassStats } from './source.js';
export { VsphereError, type VsphereReason } from './errors.js';
export type { RequestLike } from './http.js';
export type { DetailPersistence } from './details.js';
