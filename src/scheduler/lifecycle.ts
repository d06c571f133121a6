import { measuredPools } from './footprint.js';
import type { ScheduledModel } from './scheduled-model.js';
import type { LoadDecision } from './planner.js';
import type { SchedulerCounters } from './snapshot.js';
import type { Clock, Effects, MeasuredBytes, SchedulerConfig } from './types.js';

/**
 * One model's residency state machine: each transition updates the entry, its ledger
 * record and its deadline together, and emits the matching effect.
 *
 *   unloaded --startLoad--> loading --ready--> ready --startUnload--> unloading --release--> unloaded
 *   loading --cancel--> loading (cancelled) --release | ready | startUnload (cancel never confirmed)
 *   unloading --keepResident (unload failed or timed out)--> ready;  loading --release (failed)--> unloaded
 */
export class ModelLifecycle {
  readonly #config: SchedulerConfig;
  readonly #clock: Clock;
  readonly #effects: Effects;
  readonly #counters: SchedulerCounters;

  constructor(config: SchedulerConfig, clock: Clock, effects: Effects, counters: SchedulerCounters) {
    this.#config = config;
    this.#clock = clock;
    this.#effects = effects;
    this.#counters = counters;
  }

  startLoad({ entry, gpuLayers, bytes }: LoadDecision): void {
    const now = this.#clock.now();
    entry.residency = { gpuLayers, estimated: bytes, measured: undefined, startedAt: now, readyAt: undefined, cancelled: false, stale: false, grants: 0 };
    patch(entry, { state: 'loading', deadline: now + this.#config.loadTimeoutMs, reserved: false });
    this.#counters.loads++;
    this.#effects.startLoad(entry.info.name, { gpuLayers });
  }

  /** The memory stays counted until the shell confirms the cancel (or unloadTimeoutMs passes). */
  cancelLoad(entry: ScheduledModel): void {
    const r = entry.residency;
    if (entry.state !== 'loading' || !r || r.cancelled) return;
    r.cancelled = true;
    entry.deadline = this.#clock.now() + this.#config.unloadTimeoutMs;
    this.#counters.cancelledLoads++;
    this.#effects.cancelLoad(entry.info.name);
  }

  /** A measurement replaces the estimate and is remembered for the next load at the same layer count. */
  ready(entry: ScheduledModel, measuredBytes: MeasuredBytes | undefined): void {
    const r = entry.residency;
    if (!r) return;
    const now = this.#clock.now();
    if (measuredBytes) {
      r.measured = measuredPools(entry.info.memory, measuredBytes);
      entry.lastMeasured = { gpuLayers: r.gpuLayers, bytes: r.measured };
    }
    r.readyAt = now;
    r.cancelled = false;
    patch(entry, { state: 'ready', deadline: undefined, adminLoad: undefined, lastUsedAt: now, lastError: undefined });
  }

  startUnload(entry: ScheduledModel): void {
    patch(entry, { state: 'unloading', deadline: this.#clock.now() + this.#config.unloadTimeoutMs, unloadWanted: false });
    this.#effects.startUnload(entry.info.name);
  }

  /** The memory is free: the ledger forgets this residency. */
  release(entry: ScheduledModel): void {
    patch(entry, { state: 'unloaded', residency: undefined, deadline: undefined, unloadWanted: false });
  }

  /** The unload did not happen: the model stays counted and serving, and is not evicted again for a while. */
  keepResident(entry: ScheduledModel, message: string): void {
    const now = this.#clock.now();
    const r = entry.residency;
    if (r) {
      r.readyAt ??= now; // a cancelled load whose unload failed: assume it did load
      r.cancelled = false;
    }
    patch(entry, { state: 'ready', deadline: undefined, lastError: message, unloadRetryAt: now + this.#config.unloadTimeoutMs });
  }
}

/** Object.assign, but type-checked against the entry's fields. */
function patch(entry: ScheduledModel, fields: Partial<ScheduledModel>): void {
  Object.assign(entry, fields);
}
