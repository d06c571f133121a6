import type { ErrorCode } from '../errors.js';

/**
 * The vocabulary the scheduler core shares with its shell (src/residency/). Plain data
 * only: the shell fills these from config and GGUF estimates, the core never does I/O.
 */

/**
 * A memory pool: the gateway host's `'ram'` and GPU pools (`'gpu0'`), or the pools of
 * another memory domain (an Ollama daemon's `'<backend>:gpu'`, `'<backend>:ram'`): any
 * name the shell picks. A model's footprint names the pools of its own domain.
 */
export type PoolName = string;

/** Bytes per pool; a pool that is absent holds nothing. */
export type PoolBytes = Readonly<Record<PoolName, number>>;

/**
 * What loading a model costs, as data the shell can fill from a GGUF estimate.
 * Offloading `n` of `layers` layers moves `n * offloadableBytes / layers` from RAM to the
 * GPU pool and adds `overheadBytes` there (KV cache and compute buffers on the device).
 */
export interface GpuFootprint {
  readonly pool: PoolName;
  /** Offloadable layers (llama.cpp's `-ngl` counts these; includes the output layer). */
  readonly layers: number;
  /** Bytes that move from RAM to the GPU when every layer is offloaded. */
  readonly offloadableBytes: number;
  /** Extra GPU bytes as soon as one layer is offloaded. */
  readonly overheadBytes: number;
}

export interface Footprint {
  /** Everything in RAM: weights + KV cache for the pinned context and slots + buffers. */
  readonly totalBytes: number;
  /** The pool the RAM share is charged to; default `'ram'`, the gateway host's. */
  readonly ramPool?: PoolName;
  /** Absent: a CPU-only model, counted entirely in `'ram'`. */
  readonly gpu?: GpuFootprint;
}

/** `'auto'`: as many layers as fit; a number: exactly that many (clamped to `layers`). */
export type GpuLayers = 'auto' | number;

export interface ModelRegistration {
  readonly name: string;
  /** Never evicted to make room (an admin unload still unloads it). */
  readonly pinned: boolean;
  /** Requests served at once; more wait in the queue. At least 1. */
  readonly maxParallel: number;
  /** Estimated load time; idle models that are cheap to reload are evicted first. */
  readonly reloadCostMs: number;
  readonly memory: Footprint;
  readonly gpuLayers: GpuLayers;
  /**
   * Unloaded after this long idle (resident, nothing in flight or queued); 0: as soon as
   * its last request ends. Absent: resident until evicted or unloaded. The shell sets it
   * where the gateway owns the process; a runtime like Ollama expires its models itself.
   */
  readonly idleUnloadMs?: number;
  /**
   * One host's copy of a model served by several backends: requests name `model`, and
   * placement picks the copy (see placement.ts). Absent: the model has one host.
   */
  readonly copyOf?: CopyOf;
}

export interface CopyOf {
  /** The model's public name, which requests use. */
  readonly model: string;
  /** The backend this copy lives on; `hostDown(host)` takes it out of placement. */
  readonly host: string;
  /** Copies that may be started on demand without pressure (the model's `replicas`). */
  readonly replicas: number;
}

export type SchedulingPolicy = 'group' | 'fifo';

export interface SchedulerConfig {
  /** `group`: serve per model and swap once per burst; `fifo`: strict arrival order (baseline). */
  readonly policy: SchedulingPolicy;
  /** Longest a waiter is held back while another model's queue is served (group). */
  readonly maxHoldMs: number;
  readonly maxQueuePerModel: number;
  readonly maxQueueTotal: number;
  readonly loadTimeoutMs: number;
  /** Also the wait for a cancelled load to end, and the back-off before retrying a failed unload. */
  readonly unloadTimeoutMs: number;
}

export interface Clock {
  /** Milliseconds; only differences matter. */
  now(): number;
}

export type RejectCode = Extract<ErrorCode, 'QUEUE_FULL' | 'LOAD_FAILED' | 'DOES_NOT_FIT' | 'LOAD_TIMEOUT' | 'UNAVAILABLE'>;

export interface Rejection {
  readonly code: RejectCode;
  readonly message: string;
  readonly retryAfterS?: number;
}

export interface GrantInfo {
  /** From `request` to `grant`, the load included. */
  readonly queueMs: number;
  /** Part of the wait spent on this model's load (0 when it was already warm). */
  readonly loadMs: number;
}

/** `gpuLayers` is undefined for a CPU-only model (no GPU footprint): the backend's default. */
export interface StartLoadOptions {
  readonly gpuLayers: number | undefined;
}

/** What the shell measured after a load (process RSS, VRAM). */
export interface MeasuredBytes {
  readonly ram: number;
  readonly gpu: number;
}

/**
 * Decisions, carried out by the shell. Each call must return without feeding events back
 * synchronously: the shell queues the outcome and reports it later as one event
 * (`startLoad` -> loadDone | loadFailed; `cancelLoad` -> loadFailed, or loadDone if the load
 * won the race; `startUnload` -> unloadDone | unloadFailed).
 */
export interface Effects {
  startLoad(model: string, options: StartLoadOptions): void;
  cancelLoad(model: string): void;
  startUnload(model: string): void;
  grant(requestId: string, model: string, info: GrantInfo): void;
  reject(requestId: string, rejection: Rejection): void;
}
