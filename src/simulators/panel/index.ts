// The panel simulator's public surface.
export { PanelSimulator, type PanelSimulatorOptions } from './simulator.js';
export type { FaultSpec, FaultMode, FaultTrigger, InstalledFault, PanelRow, SimBehaviour, SimAction, TableEvent } from './types.js';
export type { SimStats } from './stats.js';
