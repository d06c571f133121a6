/** The pure residency scheduler: see README.md next to this file. */
export { Scheduler, type SchedulerOptions } from './scheduler.js';
export { RAM_POOL, bytesAt } from './footprint.js';
export type { ModelState } from './model-entry.js';
export type { ModelSnapshot, PoolSnapshot, SchedulerCounters, SchedulerSnapshot } from './snapshot.js';
export type {
  Clock, Effects, Footprint, GpuFootprint, GpuLayers, GrantInfo, LoadOptions, MeasuredBytes, ModelInfo, PoolBytes,
  PoolName, RejectCode, Rejection, SchedulerConfig, SchedulingPolicy,
} from './types.js';
