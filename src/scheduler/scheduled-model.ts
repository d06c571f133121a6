import { bytesAt, preferredLayers } from './footprint.js';
import type { ModelRegistration, PoolBytes } from './types.js';

/**
 * Per-model state, owned and mutated by the Scheduler alone; the planner only reads it.
 * `residency` is defined exactly when the model holds memory (any state but `unloaded`).
 */

export type ModelState = 'unloaded' | 'loading' | 'ready' | 'unloading';

export interface Waiter {
  readonly id: string;
  /** The model (or copy) it waits for; a waiter placed again on another copy names that one. */
  model: string;
  /** Global arrival order, shared with admin loads. */
  readonly seq: number;
  readonly arrivedAt: number;
  /**
   * The request queued just before this one, for the reloads-avoided counter. Cleared when
   * this waiter leaves the queue, so the chain never outgrows the queue.
   */
  prev: Waiter | undefined;
  /** Left without being granted (cancelled or rejected). */
  dropped: boolean;
  /** Copies this request must not be placed on (their host failed it already). */
  avoid?: Set<string>;
}

/** A demand to have the model resident: its oldest waiter, or an admin load. */
export interface Demand {
  readonly seq: number;
  readonly at: number;
}

/** One load of a model, from `startLoad` until its memory is released. */
export interface Tenure {
  readonly gpuLayers: number | undefined;
  readonly estimated: PoolBytes;
  measured: PoolBytes | undefined;
  readonly startedAt: number;
  readyAt: number | undefined;
  /** `cancelLoad` was sent; waiters that arrive now wait for the next load. */
  cancelled: boolean;
  /** Loaded with options that have changed since (`reload`): grants nothing, unloaded once idle. */
  stale: boolean;
  /** Grants served by this residency (the first one paid for the load). */
  grants: number;
}

export interface ScheduledModel {
  info: ModelRegistration;
  state: ModelState;
  readonly queue: Waiter[];
  readonly inFlight: Set<string>;
  residency: Tenure | undefined;
  /** loading: load (or cancel) deadline; unloading: unload deadline. */
  deadline: number | undefined;
  adminLoad: Demand | undefined;
  /** Unload as soon as nothing is queued or in flight (admin unload of a busy model). */
  unloadWanted: boolean;
  /** This model started evictions and keeps the turn in its pools until it loads. */
  reserved: boolean;
  lastUsedAt: number;
  /** Not evicted before this time (back-off after a failed unload). */
  unloadRetryAt: number;
  /** The last measurement, reused as the estimate for a load with the same layer count. */
  lastMeasured: { readonly gpuLayers: number | undefined; readonly bytes: PoolBytes } | undefined;
  lastError: string | undefined;
  /** A copy's typical time from grant to `serveDone` (moving average; placement's wait estimate). */
  serveMs: number | undefined;
  /**
   * Removed by a config reload (the message its requests are refused with): it takes no
   * requests, and the scheduler forgets it once its memory is released.
   */
  retired: string | undefined;
}

export function newEntry(info: ModelRegistration, now: number): ScheduledModel {
  return {
    info, state: 'unloaded', queue: [], inFlight: new Set(), residency: undefined, deadline: undefined,
    adminLoad: undefined, unloadWanted: false, reserved: false, lastUsedAt: now, unloadRetryAt: 0,
    lastMeasured: undefined, lastError: undefined, serveMs: undefined, retired: undefined,
  };
}

/** What the model counts in the ledger: measured once loaded, estimated before. */
export function heldBytes(entry: ScheduledModel): PoolBytes {
  const r = entry.residency;
  return r ? (r.measured ?? r.estimated) : {};
}

export function estimateAt(entry: ScheduledModel, gpuLayers: number | undefined): PoolBytes {
  const m = entry.lastMeasured;
  return m && m.gpuLayers === gpuLayers ? m.bytes : bytesAt(entry.info.memory, gpuLayers);
}

/** Held bytes when resident, else the estimate at the layer count it would prefer. */
export function footprintOf(entry: ScheduledModel): PoolBytes {
  return entry.residency ? heldBytes(entry) : estimateAt(entry, preferredLayers(entry.info.memory, entry.info.gpuLayers));
}

export function demandOf(entry: ScheduledModel): Demand | undefined {
  const head = entry.queue[0];
  const admin = entry.adminLoad;
  if (!head) return admin;
  return admin && admin.seq < head.seq ? admin : { seq: head.seq, at: head.arrivedAt };
}

/**
 * Resident and nothing in flight, and either stale (its waiters want the next load; after
 * the back-off of a failed unload, so a stuck unload is not retried in a loop) or an admin
 * unload with nothing queued.
 */
export function unloadDue(entry: ScheduledModel, now: number): boolean {
  if (entry.state !== 'ready' || entry.inFlight.size > 0) return false;
  return (staleIdle(entry) && now >= entry.unloadRetryAt) || (entry.unloadWanted && entry.queue.length === 0);
}

/** A stale residency with nothing in flight: it only waits to be unloaded. */
export function staleIdle(entry: ScheduledModel): boolean {
  return entry.residency?.stale === true && entry.state === 'ready' && entry.inFlight.size === 0;
}

/** May be granted to: ready, and not loaded with options that have changed since. */
export function serving(entry: ScheduledModel): boolean {
  return entry.state === 'ready' && !entry.residency?.stale;
}

/** When an idle resident model's keep-alive runs out; undefined while busy, or without one. */
export function idleUntil(entry: ScheduledModel): number | undefined {
  const ttl = entry.info.idleUnloadMs;
  if (ttl === undefined || entry.state !== 'ready' || entry.inFlight.size > 0 || entry.queue.length > 0 || entry.adminLoad) return undefined;
  return Math.max(entry.lastUsedAt, entry.residency?.readyAt ?? -Infinity) + ttl;
}

/** Idle past its keep-alive: unloaded like an admin unload. */
export function idleExpired(entry: ScheduledModel, now: number): boolean {
  const until = idleUntil(entry);
  return until !== undefined && now >= until;
}
