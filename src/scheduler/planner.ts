import type { Conflicts } from './conflicts.js';
import { chooseEvictions, occupants, type Occupant } from './eviction.js';
import { fitsIn, layerChoices, poolsHeld, poolsOf } from './footprint.js';
import { demandOf, estimateAt, heldBytes, idleExpired, staleIdle, unloadDue, type ScheduledModel } from './scheduled-model.js';
import type { PoolBytes, PoolName, SchedulerConfig } from './types.js';

/**
 * Admission: a pure function from the models' state to the next residency decisions.
 * The Scheduler applies the Plan and calls again until nothing changes.
 */

export interface PlanInput {
  readonly models: readonly ScheduledModel[];
  readonly budget: (pool: PoolName) => number;
  /** Learned sets of models that do not fit together: a candidate never joins a whole set. */
  readonly conflicts: Conflicts;
  readonly config: SchedulerConfig;
  readonly now: number;
}

export interface LoadDecision {
  readonly entry: ScheduledModel;
  readonly gpuLayers: number | undefined;
  readonly bytes: PoolBytes;
}

export interface Plan {
  /** Wanted models that cannot fit even beside nothing but the pinned models. */
  readonly unfit: ScheduledModel[];
  /** Admin unloads whose model went idle, stale residencies gone idle, and idle models past their keep-alive. */
  readonly unloads: ScheduledModel[];
  readonly loads: LoadDecision[];
  /** Idle models to unload now to make room. */
  readonly evictions: ScheduledModel[];
  /** Models that started evictions and keep the turn in their pools. */
  readonly reserve: ScheduledModel[];
  /** Resident models that must take no new grants so they go idle and can be evicted. */
  readonly draining: Set<ScheduledModel>;
  /** When a hold or back-off ends and the plan may change without any event. */
  readonly wakeAt: number | undefined;
}

export interface Candidate {
  readonly entry: ScheduledModel;
  readonly evict: Occupant[];
  readonly fit: { gpuLayers: number | undefined; bytes: PoolBytes };
}

export function plan(input: PlanInput): Plan {
  const out = {
    unfit: [] as ScheduledModel[], loads: [] as LoadDecision[], evictions: [] as ScheduledModel[], reserve: [] as ScheduledModel[],
    unloads: input.models.filter((e) => unloadDue(e, input.now) || idleExpired(e, input.now)),
    draining: new Set<ScheduledModel>(),
    // A stale residency whose unload failed is retried once its back-off ends.
    wakeAt: minOf(input.models.filter((e) => staleIdle(e) && e.unloadRetryAt > input.now).map((e) => e.unloadRetryAt)),
  };
  const used = usedPools(input.models);
  const candidates: Candidate[] = [];
  for (const entry of input.models) {
    if (entry.state !== 'unloaded' || !demandOf(entry)) continue;
    const choice = admission(input, entry, used);
    if (choice) candidates.push({ entry, ...choice });
    else out.unfit.push(entry);
  }
  // One load at a time per pool; a candidate that cannot start still claims its pools so
  // that later arrivals do not take the memory it is waiting for.
  const claimed = loadingPools(input.models);
  for (const candidate of inTurn(input, candidates)) {
    const pools = poolsOf(candidate.entry.info.memory);
    const blocked = pools.some((pool) => claimed.has(pool));
    pools.forEach((pool) => claimed.add(pool));
    if (blocked) continue;
    for (const { entry, obstacle } of candidate.evict) {
      if (obstacle.kind === 'evict') out.evictions.push(entry);
      if (obstacle.kind === 'drain') out.draining.add(entry);
      if (obstacle.kind === 'wait' && obstacle.until !== undefined) out.wakeAt = Math.min(out.wakeAt ?? Infinity, obstacle.until);
    }
    if (candidate.evict.length === 0) out.loads.push({ entry: candidate.entry, ...candidate.fit });
    else if (candidate.evict.some((o) => o.obstacle.kind === 'evict')) out.reserve.push(candidate.entry);
  }
  return out;
}

/**
 * What it takes to load `entry` now: who must leave (cheapest first, thinned) and the layer
 * count that fits then; undefined when it fits nowhere even with every occupant gone.
 * `used` is `usedPools(input.models)`, computed once per plan.
 */
export function admission(input: PlanInput, entry: ScheduledModel, used: ReadonlyMap<PoolName, number>): Omit<Candidate, 'entry'> | undefined {
  const order = occupants(input.models, entry, { ...input, partners: input.conflicts.partners(entry.info.name) });
  return chooseEvictions(order, (evicted) => {
    const holds = (name: string) => input.models.some((e) => e.info.name === name && e.state !== 'unloaded' && !evicted.includes(e));
    if (!input.conflicts.allows(entry.info.name, holds)) return undefined;
    const free = (pool: PoolName) => input.budget(pool) - (used.get(pool) ?? 0) + usedIn(evicted, pool);
    return fitLayers(entry, free);
  });
}

/** Bytes held per pool by every model that holds memory. */
export function usedPools(models: readonly ScheduledModel[]): Map<PoolName, number> {
  const used = new Map<PoolName, number>();
  for (const [pool, bytes] of models.flatMap((e) => Object.entries(heldBytes(e)))) used.set(pool, (used.get(pool) ?? 0) + bytes);
  return used;
}

/** Pools with a load in progress: no other load starts there until it ends. */
export function loadingPools(models: readonly ScheduledModel[]): Set<PoolName> {
  return new Set(models.filter((e) => e.state === 'loading').flatMap((e) => poolsHeld(heldBytes(e))));
}

/**
 * The order candidates are considered in. group: models that already evicted for their
 * load first, then by oldest demand. fifo: only the model the oldest demand of all wants,
 * and only while it is not resident (strict arrival order, head-of-line blocking).
 */
function inTurn(input: PlanInput, candidates: Candidate[]): Candidate[] {
  const bySeq = (a: ScheduledModel, b: ScheduledModel) => (demandOf(a)?.seq ?? Infinity) - (demandOf(b)?.seq ?? Infinity);
  if (input.config.policy === 'fifo') {
    const head = input.models.filter((e) => demandOf(e)).sort(bySeq)[0];
    return candidates.filter((c) => c.entry === head);
  }
  return [...candidates].sort((a, b) => Number(b.entry.reserved) - Number(a.entry.reserved) || bySeq(a.entry, b.entry));
}

/** The best allowed layer count whose bytes fit in `free`; undefined if none does. */
function fitLayers(entry: ScheduledModel, free: (pool: PoolName) => number): Candidate['fit'] | undefined {
  for (const gpuLayers of layerChoices(entry.info.memory, entry.info.gpuLayers)) {
    const bytes = estimateAt(entry, gpuLayers);
    if (fitsIn(bytes, free)) return { gpuLayers, bytes };
  }
  return undefined;
}

function minOf(times: number[]): number | undefined {
  return times.length ? Math.min(...times) : undefined;
}

export function usedIn(models: readonly ScheduledModel[], pool: PoolName): number {
  return models.reduce((sum, e) => sum + (heldBytes(e)[pool] ?? 0), 0);
}
