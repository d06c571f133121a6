import { poolsOf, ramPoolOf } from './footprint.js';
import { admission, loadingPools, usedPools, type PlanInput } from './planner.js';
import { place, waitForSlotMs, type ColdCopy, type CopyView } from './placement.js';
import { heldBytes, serving, type ScheduledModel } from './scheduled-model.js';
import type { PoolName } from './types.js';

/**
 * The copies of each model served by several hosts (registrations with `copyOf`), and the
 * scheduler's side of placement: what each copy looks like now, as placement.ts reads it.
 * Each copy is a scheduled model of its own (its host's pools, queue, slots); only the
 * choice of copy per request is made here.
 */

/** What placement reads from the scheduler's state. */
export interface PlacementState extends PlanInput {
  readonly draining: ReadonlySet<ScheduledModel>;
  /** Hosts taken out (their circuit breaker is open). */
  readonly down: ReadonlySet<string>;
}

export class Copies {
  readonly #byModel = new Map<string, ScheduledModel[]>();

  /** Files a registered model under the model it is a copy of (no-op for a model with one host). */
  add(entry: ScheduledModel): void {
    const of = entry.info.copyOf?.model;
    if (of === undefined) return;
    const list = this.#byModel.get(of) ?? [];
    if (!list.includes(entry)) this.#byModel.set(of, [...list, entry]);
  }

  remove(entry: ScheduledModel): void {
    const of = entry.info.copyOf?.model;
    const list = of === undefined ? undefined : this.#byModel.get(of)?.filter((e) => e !== entry);
    if (of === undefined || !list) return;
    if (list.length > 0) this.#byModel.set(of, list);
    else this.#byModel.delete(of);
  }

  /** Whether requests may name `model` (a model served by several hosts). */
  has(model: string): boolean {
    return this.#byModel.has(model);
  }

  /**
   * The copy a request for `model` goes to, avoiding `avoid` (copies that failed it) and
   * retired copies; undefined when no copy is left on a host that is up.
   */
  place(model: string, avoid: ReadonlySet<string> | undefined, state: PlacementState): ScheduledModel | undefined {
    const copies = (this.#byModel.get(model) ?? []).filter((e) => !e.retired && !avoid?.has(e.info.name));
    if (copies.length === 0) return undefined;
    const replicas = copies[0].info.copyOf!.replicas;
    // The ledger's totals, computed once and only if a cold copy has to be weighed.
    let pools: Pools | undefined;
    const ledger = () => (pools ??= { used: usedPools(state.models), claimed: loadingPools(state.models) });
    return place(copies.map((e) => viewOf(e, state, ledger)), { replicas, maxHoldMs: state.config.maxHoldMs });
  }
}

interface Pools {
  readonly used: ReadonlyMap<PoolName, number>;
  readonly claimed: ReadonlySet<PoolName>;
}

function viewOf(e: ScheduledModel, state: PlacementState, ledger: () => Pools): CopyView<ScheduledModel> {
  const slots = e.info.maxParallel;
  const isServing = serving(e) && !state.draining.has(e) && !e.unloadWanted;
  const isLoading = e.state === 'loading' && !e.residency?.cancelled && !e.residency?.stale;
  const inFlight = e.inFlight.size;
  const queued = e.queue.length;
  // Loading: nothing is in flight yet; what is left of the load comes first.
  const expectedWaitMs = isServing ? waitForSlotMs({ queued, inFlight, slots }, e.serveMs)
    : isLoading ? Math.max(0, (e.residency?.startedAt ?? state.now) + e.info.reloadCostMs - state.now) + waitForSlotMs({ queued, inFlight: 0, slots }, e.serveMs)
      : Infinity;
  return {
    copy: e, up: !state.down.has(e.info.copyOf!.host), serving: isServing, loading: isLoading, inFlight, slots, queued, expectedWaitMs,
    cold: () => (e.state === 'unloaded' ? coldOf(e, state, ledger()) : undefined),
  };
}

/** What loading this copy takes now: who leaves and at what cost, what is left free. */
function coldOf(e: ScheduledModel, state: PlacementState, { used, claimed }: Pools): ColdCopy | undefined {
  const choice = admission(state, e, used);
  if (!choice) return undefined;
  const leaving = choice.evict.filter((o) => o.obstacle.kind !== 'freeing');
  const costMs = leaving.reduce((sum, o) => sum + o.entry.info.reloadCostMs + (o.obstacle.kind === 'evict' ? 0 : state.config.maxHoldMs), 0);
  const pool = e.info.memory.gpu?.pool ?? ramPoolOf(e.info.memory);
  const pools = poolsOf(e.info.memory);
  return {
    evictions: leaving.length, costMs,
    freeBytes: state.budget(pool) - (used.get(pool) ?? 0) - (choice.fit.bytes[pool] ?? 0),
    held: state.models.filter((m) => m !== e && pools.some((p) => (heldBytes(m)[p] ?? 0) > 0)).length,
    behindLoad: pools.some((p) => claimed.has(p)),
  };
}
