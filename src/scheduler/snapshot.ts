import { RAM_POOL, ramPoolOf } from './footprint.js';
import { demandOf, footprintOf, heldBytes, idleUntil, type ScheduledModel, type ModelState } from './scheduled-model.js';
import { usedIn } from './planner.js';
import type { PoolBytes, PoolName, SchedulingPolicy } from './types.js';

/** A read-only picture of the scheduler for `/warmgate/status`; plain data, safe to serialise. */

export interface SchedulerCounters {
  /** `startLoad` calls. */
  loads: number;
  /** Loads that ended in `loadFailed` (cancelled loads excluded). */
  loadFailures: number;
  loadTimeouts: number;
  /** `cancelLoad` calls: every waiter left, an admin unload, or a timeout. */
  cancelledLoads: number;
  /** Idle models unloaded to make room for another. */
  evictions: number;
  /** Unloads asked for by `adminUnload`. */
  unloads: number;
  grants: number;
  rejections: number;
  /**
   * Grants that a strict per-request FIFO would have loaded for and this schedule did not:
   * the request queued just before this one wanted a model that cannot share memory with
   * this one, and this grant is not the first of the model's residency (the first paid for
   * the load). Always 0 under policy fifo with models that cannot co-reside.
   */
  reloadsAvoided: number;
}

export function newCounters(): SchedulerCounters {
  return { loads: 0, loadFailures: 0, loadTimeouts: 0, cancelledLoads: 0, evictions: 0, unloads: 0, grants: 0, rejections: 0, reloadsAvoided: 0 };
}

export interface ModelSnapshot {
  readonly name: string;
  readonly state: ModelState;
  readonly pinned: boolean;
  /** Of the current residency; undefined when unloaded or CPU-only. */
  readonly gpuLayers: number | undefined;
  /** The estimate the current residency was admitted with, or the next load's when unloaded. */
  readonly estimatedBytes: PoolBytes;
  /** Measured after the current residency's load; undefined before. */
  readonly measuredBytes: PoolBytes | undefined;
  /** What the ledger counts for this model now. */
  readonly heldBytes: PoolBytes;
  readonly queued: number;
  readonly inFlight: number;
  readonly maxParallel: number;
  /** Age of the oldest demand: waiter or admin load. */
  readonly oldestWaitMs: number | undefined;
  readonly adminLoad: boolean;
  readonly unloadWanted: boolean;
  /** Resident with settings a config reload replaced: unloaded once idle, then loaded afresh. */
  readonly stale: boolean;
  /** Removed by a config reload; listed until its memory is released. */
  readonly retired: boolean;
  /**
   * A ready model's time left on its keep-alive (`idleUnloadMs`): the whole keep-alive while
   * it serves or has waiters, counted down from its last use when idle; undefined without one.
   */
  readonly expiresInMs: number | undefined;
  readonly lastError: string | undefined;
}

export interface PoolSnapshot {
  readonly name: PoolName;
  /** Undefined: a capacity nobody knows (an unbounded pool). */
  readonly budget: number | undefined;
  readonly used: number;
  /** The model loading in this pool (at most one). */
  readonly loading: string | undefined;
}

export interface SchedulerSnapshot {
  readonly now: number;
  readonly policy: SchedulingPolicy;
  readonly models: readonly ModelSnapshot[];
  readonly pools: readonly PoolSnapshot[];
  readonly loading: readonly string[];
  /** Learned sets of models that do not fit together (see `Scheduler.learnConflict`). */
  readonly conflicts: readonly (readonly string[])[];
  readonly counters: Readonly<SchedulerCounters>;
}

export function snapshotOf(input: {
  now: number;
  policy: SchedulingPolicy;
  models: readonly ScheduledModel[];
  budgetedPools: Iterable<PoolName>;
  budget: (pool: PoolName) => number;
  counters: SchedulerCounters;
  conflicts: string[][];
}): SchedulerSnapshot {
  const { now, models } = input;
  const loading = models.filter((e) => e.state === 'loading');
  const modelPools = models.flatMap((e) => [ramPoolOf(e.info.memory), ...(e.info.memory.gpu ? [e.info.memory.gpu.pool] : [])]);
  const pools = [...new Set([RAM_POOL, ...input.budgetedPools, ...modelPools])];
  return {
    now,
    policy: input.policy,
    models: models.map((e) => modelSnapshot(e, now)),
    pools: pools.map((name) => ({
      name,
      budget: Number.isFinite(input.budget(name)) ? input.budget(name) : undefined,
      used: usedIn(models, name),
      loading: loading.find((e) => (heldBytes(e)[name] ?? 0) > 0)?.info.name,
    })),
    loading: loading.map((e) => e.info.name),
    conflicts: input.conflicts,
    counters: { ...input.counters },
  };
}

function modelSnapshot(e: ScheduledModel, now: number): ModelSnapshot {
  const demand = demandOf(e);
  return {
    name: e.info.name,
    state: e.state,
    pinned: e.info.pinned,
    gpuLayers: e.residency?.gpuLayers,
    estimatedBytes: e.residency?.estimated ?? footprintOf(e),
    measuredBytes: e.residency?.measured,
    heldBytes: heldBytes(e),
    queued: e.queue.length,
    inFlight: e.inFlight.size,
    maxParallel: e.info.maxParallel,
    oldestWaitMs: demand ? now - demand.at : undefined,
    adminLoad: e.adminLoad !== undefined,
    unloadWanted: e.unloadWanted,
    stale: e.residency?.stale === true,
    retired: e.retired !== undefined,
    expiresInMs: expiresIn(e, now),
    lastError: e.lastError,
  };
}

function expiresIn(e: ScheduledModel, now: number): number | undefined {
  if (e.info.idleUnloadMs === undefined || e.state !== 'ready') return undefined;
  const until = idleUntil(e);
  return until === undefined ? e.info.idleUnloadMs : Math.max(0, until - now);
}
