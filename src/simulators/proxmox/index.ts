// The Proxmox VE simulator's public surface.
export { ProxmoxSimulator, type ProxmoxSimulatorOptions, type SimulatorAddress } from './server.js';
export type { SimToken } from './api.js';
export type { FaultSpec, FaultSpecInput, FaultKind } from './faults.js';
export type { SimGuest, GuestInput, GuestPatch } from './guest.js';
export { BAD_ENTRY_CASES, badEntry, type BadEntryCase } from './bad-entries.js';
export { generateGuests, type SeedOptions } from './seed.js';
