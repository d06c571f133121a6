/**
 * Placement: which host's copy of a model serves a request, when the model is served by
 * several backends. A pure ranking over what is known of each copy, shared by the
 * scheduler (copies whose memory it schedules, from its own state) and the shell (remote
 * Warmgates, from what each reports of itself).
 *
 * The order, first match wins:
 *   1. resident with a free slot and nobody queued (least busy first);
 *   2. resident or loading, by shortest expected wait, while starting another copy is not
 *      called for: `replicas` copies may be started on demand; beyond that a further copy
 *      starts only when no copy could serve within `maxHoldMs`;
 *   3. a host where a new copy fits without evicting (no load in progress there first, then
 *      most free memory, then fewest models held);
 *   4. the host whose evictions cost least (reload time of what leaves; a busy model costs more).
 * Hosts that are down are never chosen. With no candidate at all (nothing fits anywhere),
 * the first host that is up: its admission rejects the request with the reason.
 */

/** What placement knows of one host's copy. */
export interface CopyView<T> {
  readonly copy: T;
  readonly up: boolean;
  /** Resident and taking grants now. */
  readonly serving: boolean;
  /** A load of this copy is under way (it serves when it ends). */
  readonly loading: boolean;
  readonly inFlight: number;
  readonly slots: number;
  readonly queued: number;
  /** Serving or loading: the wait a request placed now would expect (ms). */
  readonly expectedWaitMs: number;
  /**
   * Neither serving nor loading: what loading a copy here takes; undefined when it cannot
   * be loaded here now (it never fits, or it is on its way out). Asked only when no
   * resident copy settles the choice (it runs an admission).
   */
  readonly cold: () => ColdCopy | undefined;
}

export interface ColdCopy {
  /** Models that must leave (0: fits beside what the host holds). */
  readonly evictions: number;
  /** What those evictions cost: their reload time, more for a model that is busy (ms). */
  readonly costMs: number;
  /** Bytes left free in the copy's main pool after it loads (Infinity: capacity unknown). */
  readonly freeBytes: number;
  /** Models holding memory in the copy's pools now. */
  readonly held: number;
  /** Another load runs in the copy's pools: this one would start after it. */
  readonly behindLoad: boolean;
}

export interface PlacementRule {
  /** Copies that may be started on demand, without pressure. At least 1. */
  readonly replicas: number;
  readonly maxHoldMs: number;
}

export function place<T>(views: readonly CopyView<T>[], rule: PlacementRule): T | undefined {
  const up = views.filter((v) => v.up);
  const free = up.filter((v) => v.serving && v.inFlight < v.slots && v.queued === 0);
  if (free.length > 0) return minBy(free, (v) => v.inFlight / v.slots).copy;
  const resident = up.filter((v) => v.serving || v.loading);
  const best = resident.length > 0 ? minBy(resident, (v) => v.expectedWaitMs) : undefined;
  const moreWanted = resident.length < rule.replicas || (best?.expectedWaitMs ?? Infinity) > rule.maxHoldMs;
  const cold = moreWanted ? coldest(up) : undefined;
  return (cold ?? best ?? up[0])?.copy;
}

/** The best host for a new copy: fits without evicting first, else the cheapest eviction. */
function coldest<T>(views: readonly CopyView<T>[]): CopyView<T> | undefined {
  const able = views.flatMap((v) => {
    const cold = v.serving || v.loading ? undefined : v.cold();
    return cold ? [{ copy: v, cold }] : [];
  });
  const fitting = able.filter((v) => v.cold.evictions === 0);
  if (fitting.length > 0) {
    return [...fitting].sort((a, b) => Number(a.cold.behindLoad) - Number(b.cold.behindLoad)
      || compareDesc(a.cold.freeBytes, b.cold.freeBytes) || a.cold.held - b.cold.held)[0].copy;
  }
  return able.length > 0 ? minBy(able, (v) => v.cold.costMs + (v.cold.behindLoad ? 1 : 0)).copy : undefined;
}

/**
 * How long a request placed now waits for a slot: the requests ahead of it (`queued`, and
 * those in flight beyond the free slots), served `slots` at a time, each taking `serveMs`.
 */
export function waitForSlotMs(c: { queued: number; inFlight: number; slots: number }, serveMs: number | undefined): number {
  return Math.max(0, Math.ceil((c.queued + c.inFlight - c.slots + 1) / c.slots)) * (serveMs ?? 0);
}

/** A copy's serve time after one more request took `ms`: a moving average over its last requests. */
export function nextServeMs(before: number | undefined, ms: number): number {
  return before === undefined ? ms : 0.8 * before + 0.2 * ms;
}

/** Larger first; two Infinities are equal. */
function compareDesc(a: number, b: number): number {
  return a === b ? 0 : b > a ? 1 : -1;
}

/** The first element with the smallest key (stable: ties keep the hosts' order). */
function minBy<V>(items: readonly V[], key: (v: V) => number): V {
  return items.reduce((best, v) => (key(v) < key(best) ? v : best));
}
