import { poolsOf } from './footprint.js';
import { demandOf, heldBytes, unloadDue, type ScheduledModel } from './scheduled-model.js';
import type { SchedulerConfig } from './types.js';

/**
 * Who must leave for a candidate model to fit, in which order, and what stands in the way.
 * Value of a resident model = how recently it was used per ms its reload would cost: the
 * model idle longest relative to its reload cost goes first (LRU weighted by reload cost).
 */

/** How an occupant of the candidate's pools gets out of the way. */
export type Obstacle =
  /** Unloading already (or an admin unload is due): its memory comes back without eviction. */
  | { readonly kind: 'freeing' }
  /** Idle: unload it now. */
  | { readonly kind: 'evict' }
  /** Serving: let its requests finish and grant it nothing new. */
  | { readonly kind: 'drain' }
  /** Held by grouping or a failed-unload back-off until `until`; or still loading (no `until`). */
  | { readonly kind: 'wait'; readonly until?: number };

export interface Occupant {
  readonly entry: ScheduledModel;
  readonly obstacle: Obstacle;
}

/** Higher is evicted first: idle milliseconds per millisecond of reload. */
function evictionScore(entry: ScheduledModel, now: number): number {
  return (now - entry.lastUsedAt) / Math.max(1, entry.info.reloadCostMs);
}

/**
 * Everything that could ever make room for `candidate`, cheapest to remove first: memory
 * already being freed, then idle models, then models that must drain or wait. Occupants
 * hold memory in the candidate's pools or share a learned conflict with it (`partners`).
 * Pinned models that are (or are becoming) resident are never listed, unless an admin
 * unload is due.
 */
export function occupants(
  models: readonly ScheduledModel[],
  candidate: ScheduledModel,
  { config, now, partners }: { config: SchedulerConfig; now: number; partners: ReadonlySet<string> },
): Occupant[] {
  const pools = poolsOf(candidate.info.memory);
  const rank = { freeing: 0, evict: 1, drain: 2, wait: 2 } as const;
  return models
    .filter((e) => e !== candidate && e.state !== 'unloaded')
    .filter((e) => !(e.info.pinned && (e.state === 'ready' || e.state === 'loading') && !unloadDue(e, now)))
    .filter((e) => partners.has(e.info.name) || pools.some((pool) => (heldBytes(e)[pool] ?? 0) > 0))
    .map((entry) => ({ entry, obstacle: obstacleOf(entry, candidate, config, now) }))
    .sort((a, b) =>
      rank[a.obstacle.kind] - rank[b.obstacle.kind]
      || evictionScore(b.entry, now) - evictionScore(a.entry, now)
      || a.entry.info.name.localeCompare(b.entry.info.name));
}

function obstacleOf(entry: ScheduledModel, candidate: ScheduledModel, config: SchedulerConfig, now: number): Obstacle {
  if (entry.state === 'unloading' || unloadDue(entry, now)) return { kind: 'freeing' };
  if (entry.state === 'loading') return { kind: 'wait' };
  // Grouping: a resident model with queued work keeps its turn for maxHoldMs, counted from
  // when the candidate started waiting or when this model got its turn, whichever is later.
  const since = Math.max(demandOf(candidate)?.at ?? now, entry.residency?.readyAt ?? now);
  const holdEnd = since + config.maxHoldMs;
  if (config.policy === 'group' && entry.queue.length > 0 && now < holdEnd) return { kind: 'wait', until: holdEnd };
  if (now < entry.unloadRetryAt) return { kind: 'wait', until: entry.unloadRetryAt };
  return entry.inFlight.size > 0 ? { kind: 'drain' } : { kind: 'evict' };
}

/**
 * The smallest prefix of `order` after which the candidate fits, then thinned: members
 * whose removal is not needed after all are kept, most valuable first. Undefined when the
 * candidate does not fit even with every occupant gone.
 */
export function chooseEvictions<T>(
  order: readonly Occupant[],
  fitWith: (evicted: readonly ScheduledModel[]) => T | undefined,
): { evict: Occupant[]; fit: T } | undefined {
  for (let k = 0; k <= order.length; k++) {
    let fit = fitWith(order.slice(0, k).map((o) => o.entry));
    if (fit === undefined) continue;
    let evict = order.slice(0, k);
    for (let i = evict.length - 1; i >= 0; i--) {
      const without = evict.filter((_, j) => j !== i);
      const thinner = fitWith(without.map((o) => o.entry));
      if (thinner !== undefined) [evict, fit] = [without, thinner];
    }
    return { evict, fit };
  }
  return undefined;
}
