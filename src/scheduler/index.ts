/** The pure residency scheduler: see README.md next to this file. */
export { Scheduler, type SchedulerOptions } from './scheduler.js';
export { RAM_POOL, bytesAt } from './footprint.js';
export { nextServeMs, place, waitForSlotMs, type ColdCopy, type CopyView, type PlacementRule } from './placement.js';
export type { ModelState } from './scheduled-model.js';
export type { ModelSnapshot, PoolSnapshot, SchedulerCounters, SchedulerSnapshot } from './snapshot.js';
export type {
  Clock, Effects, Footprint, GpuFootprint, GpuLayers, GrantInfo, StartLoadOptions, MeasuredBytes, ModelRegistration, PoolBytes,
  PoolName, RejectCode, Rejection, SchedulerConfig, SchedulingPolicy,
} from './types.js';
