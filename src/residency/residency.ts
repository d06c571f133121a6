import type { Backend } from '../backends/backend.js';
import type { ModelEntry } from '../models/model-entry.js';
import type { ModelSnapshot, SchedulerSnapshot } from '../scheduler/index.js';

/*
 * residency/ owns which models are resident: the one Scheduler instance, its effects run
 * against `ManagedBackend`s, leases for the request path, budgets per memory pool. It may
 * import scheduler/, backends/backend.ts (the interface, never a kind), models/, memory/
 * and config/; never gateway/ or http/.
 */

/** The scheduler's snapshot; each loaded process model also carries its measured RAM split anonymous / file-backed. */
export type ResidencyStatus = Omit<SchedulerSnapshot, 'models'> & {
  models: Array<ModelSnapshot & { residentRam?: { anon: number; file: number } }>;
};

/** A granted turn on a resident model; `release` exactly once when the request is done with it. */
export interface Lease {
  /** What the request runs on: for a model with several hosts the copy placement chose, else the model's own entry. */
  entry: ModelEntry;
  /** Time spent waiting in the model's queue (ms), not counting `loadMs`: the two add up to the whole wait. */
  queueMs: number;
  /** Time this request waited on a load (ms); 0 when the model was already warm. */
  loadMs: number;
  release(): void;
}

/**
 * What the request path needs from residency: wait until the model is resident and a
 * slot is free. Rejects with a WarmgateError (QUEUE_FULL, LOAD_FAILED, ...) in bounded time.
 */
export interface Residency {
  acquire(entry: ModelEntry, signal: AbortSignal, opts?: { avoid?: readonly ModelEntry[] }): Promise<Lease>;
  /** Unload now (admin API, or a client's `keep_alive: 0` where the model allows it). */
  unload(entry: ModelEntry): Promise<void>;
  /** Load now without a request (preload, admin API). */
  load(entry: ModelEntry): Promise<void>;
  /** `backend` no longer holds `model` (its process exited, or a call found the host unreachable): counted unloaded. */
  lost(backend: Backend, model: string): void;
  /** The model's load options changed (its context pin grew): a load with the old ones is replaced once its requests finish. */
  reload(entry: ModelEntry): void;
  status(): ResidencyStatus;
  /** Time left (ms) on each resident model's keep-alive, for the models whose keep-alive the gateway enforces. */
  keepAliveLeft(): ReadonlyMap<string, number>;
  close(): Promise<void>;
}
