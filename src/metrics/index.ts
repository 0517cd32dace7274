// Public entry of the metrics module.
export { createSyncMetrics, type SyncMetrics, type SyncMetricsOptions } from './sync-metrics.js';
