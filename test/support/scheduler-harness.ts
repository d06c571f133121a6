import { expect } from 'vitest';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import type { Clock, Effects, GrantInfo, StartLoadOptions, ModelRegistration, Rejection, SchedulerConfig } from '../../src/scheduler/types.js';

/**
 * Test support: a manual clock, a recording Effects fake, model builders, and a wrapper
 * that checks the scheduler's invariants after every event.
 */

export const GiB = 1024 ** 3;

export type EffectCall =
  | { readonly effect: 'startLoad'; readonly model: string; readonly options: StartLoadOptions }
  | { readonly effect: 'cancelLoad'; readonly model: string }
  | { readonly effect: 'startUnload'; readonly model: string }
  | { readonly effect: 'grant'; readonly id: string; readonly model: string; readonly info: GrantInfo }
  | { readonly effect: 'reject'; readonly id: string; readonly rejection: Rejection };

export class ManualClock implements Clock {
  #now = 0;
  now(): number {
    return this.#now;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
  set(ms: number): void {
    this.#now = ms;
  }
}

/** Records every call; `take` returns the unread ones in a short text form for assertions. */
export class RecordingEffects implements Effects {
  readonly log: EffectCall[] = [];
  #read = 0;

  startLoad(model: string, options: StartLoadOptions): void {
    this.log.push({ effect: 'startLoad', model, options });
  }
  cancelLoad(model: string): void {
    this.log.push({ effect: 'cancelLoad', model });
  }
  startUnload(model: string): void {
    this.log.push({ effect: 'startUnload', model });
  }
  grant(id: string, model: string, info: GrantInfo): void {
    this.log.push({ effect: 'grant', id, model, info });
  }
  reject(id: string, rejection: Rejection): void {
    this.log.push({ effect: 'reject', id, rejection });
  }

  take(): string[] {
    const unread = this.log.slice(this.#read);
    this.#read = this.log.length;
    return unread.map(describe);
  }

  grantOf(id: string): GrantInfo | undefined {
    return this.log.flatMap((c) => (c.effect === 'grant' && c.id === id ? [c.info] : []))[0];
  }

  rejectionOf(id: string): Rejection | undefined {
    return this.log.flatMap((c) => (c.effect === 'reject' && c.id === id ? [c.rejection] : []))[0];
  }

  count(effect: EffectCall['effect']): number {
    return this.log.filter((c) => c.effect === effect).length;
  }
}

function describe(c: EffectCall): string {
  switch (c.effect) {
    case 'startLoad': return `startLoad ${c.model}${c.options.gpuLayers === undefined ? '' : ` gpuLayers=${c.options.gpuLayers}`}`;
    case 'grant': return `grant ${c.id} ${c.model}`;
    case 'reject': return `reject ${c.id} ${c.rejection.code}`;
    default: return `${c.effect} ${c.model}`;
  }
}

export const testConfig: SchedulerConfig = {
  policy: 'group', maxHoldMs: 10_000, maxQueuePerModel: 8, maxQueueTotal: 16, loadTimeoutMs: 60_000, unloadTimeoutMs: 5_000,
};

export function cpuModel(name: string, gib: number, extra: Partial<ModelRegistration> = {}): ModelRegistration {
  return { name, pinned: false, maxParallel: 1, reloadCostMs: 1000, memory: { totalBytes: gib * GiB }, gpuLayers: 'auto', ...extra };
}

/** A model whose `offloadGiB` of `totalGiB` spreads over `layers` layers. */
export function gpuModel(
  name: string,
  size: { totalGiB: number; offloadGiB: number; layers: number; overheadGiB?: number },
  extra: Partial<ModelRegistration> = {},
): ModelRegistration {
  const gpu = { pool: 'gpu0', layers: size.layers, offloadableBytes: size.offloadGiB * GiB, overheadBytes: (size.overheadGiB ?? 0) * GiB };
  return { ...cpuModel(name, size.totalGiB, extra), memory: { totalBytes: size.totalGiB * GiB, gpu } };
}

/** `model`'s copy on `host` (one of several serving it): all of it on that host's GPU pool, as Ollama places a model that fits. */
export function hostCopy(model: string, host: string, gib: number, extra: Partial<ModelRegistration> & { replicas?: number } = {}): ModelRegistration {
  const { replicas = 1, ...rest } = extra;
  const memory = { totalBytes: gib * GiB, ramPool: `${host}:ram`, gpu: { pool: `${host}:gpu`, layers: 1, offloadableBytes: gib * GiB, overheadBytes: 0 } };
  return { ...cpuModel(`${model}@${host}`, gib, rest), memory, gpuLayers: 1, copyOf: { model, host, replicas } };
}

/** Budgets for hosts with `gib` GiB of VRAM each and no room in RAM. */
export function hostBudgets(gib: number, ...hosts: string[]): Record<string, number> {
  return Object.fromEntries(hosts.flatMap((h) => [[`${h}:gpu`, gib * GiB], [`${h}:ram`, 0]]));
}

export interface Harness {
  /** The scheduler, with every method call followed by an invariant check. */
  readonly s: Scheduler;
  readonly clock: ManualClock;
  readonly fx: RecordingEffects;
}

export function harness(setup: { config?: Partial<SchedulerConfig>; budgets: Record<string, number>; models: ModelRegistration[] }): Harness {
  const clock = new ManualClock();
  const fx = new RecordingEffects();
  const s = checked(new Scheduler({ config: { ...testConfig, ...setup.config }, clock, effects: fx }), fx);
  for (const [pool, bytes] of Object.entries(setup.budgets)) s.setBudget(pool, bytes);
  for (const info of setup.models) s.registerModel(info);
  fx.take();
  return { s, clock, fx };
}

function checked(scheduler: Scheduler, fx: RecordingEffects): Scheduler {
  return new Proxy(scheduler, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const before = fx.log.length;
        const result: unknown = value.apply(target, args);
        assertInvariants(target, fx, before);
        return result;
      };
    },
  });
}

/**
 * After every event: no pool holds more than its budget (beyond what measurements revealed
 * over their estimates), at most one load per pool, no model over its parallel slots, none
 * unloaded while serving, no request answered twice, and no grant (of the effects from
 * `since` on) to a stale or retired model.
 */
export function assertInvariants(scheduler: Scheduler, fx: RecordingEffects, since = 0): void {
  const snap = scheduler.snapshot();
  for (const pool of snap.pools) {
    const revealed = snap.models.reduce((sum, m) =>
      sum + Math.max(0, (m.measuredBytes?.[pool.name] ?? 0) - (m.estimatedBytes[pool.name] ?? 0)), 0);
    expect(pool.used - revealed, `pool ${pool.name} over budget`).toBeLessThanOrEqual(pool.budget ?? Infinity);
    const loads = snap.models.filter((m) => m.state === 'loading' && (m.heldBytes[pool.name] ?? 0) > 0);
    expect(loads.length, `loads in pool ${pool.name}`).toBeLessThanOrEqual(1);
  }
  // A learned conflict set is never completed by a load (an adopted model, estimated at
  // nothing, is the runtime's doing, not a decision).
  const admitted = (name: string) => snap.models.some((m) => m.name === name && m.state !== 'unloaded' && Object.keys(m.estimatedBytes).length > 0);
  for (const set of snap.conflicts) expect(set.every(admitted), `conflict ${set.join(' + ')} all resident`).toBe(false);
  for (const m of snap.models) {
    expect(m.inFlight, `${m.name} in flight`).toBeLessThanOrEqual(m.maxParallel);
    if (m.state === 'unloading') expect(m.inFlight, `${m.name} unloaded while serving`).toBe(0);
    expect(Object.keys(m.heldBytes).length === 0, `${m.name} ledger vs state`).toBe(m.state === 'unloaded');
  }
  const replaced = new Set(snap.models.filter((m) => m.stale || m.retired).map((m) => m.name));
  for (const c of fx.log.slice(since)) {
    if (c.effect === 'grant') expect(replaced.has(c.model), `${c.model} granted while stale or retired`).toBe(false);
  }
  const answered = fx.log.flatMap((c) => (c.effect === 'grant' || c.effect === 'reject' ? [c.id] : []));
  expect(new Set(answered).size, 'a request answered twice').toBe(answered.length);
}
