import { layerChoices } from './footprint.js';
import { estimateAt, heldBytes, serving, type ScheduledModel, type Tenure, type Waiter } from './scheduled-model.js';
import type { GrantInfo, PoolName, Rejection, SchedulerConfig, SchedulingPolicy } from './types.js';

/**
 * The request side of the scheduler: who may queue (back-pressure), who is served next,
 * what a grant reports, and whether it counts as a reload avoided.
 */

/**
 * Back-pressure: a request past `maxQueuePerModel` or `maxQueueTotal` is refused at once
 * with QUEUE_FULL rather than left to wait behind a queue that cannot drain in time.
 */
export function queueFull(entry: ScheduledModel, models: Iterable<ScheduledModel>, config: SchedulerConfig): Rejection | undefined {
  const queuedTotal = [...models].reduce((n, e) => n + e.queue.length, 0);
  const message = entry.queue.length >= config.maxQueuePerModel ? `the queue for ${entry.info.name} is full`
    : queuedTotal >= config.maxQueueTotal ? 'the request queue is full' : undefined;
  return message === undefined ? undefined : { code: 'QUEUE_FULL', message, retryAfterS: retryAfterS(entry, config) };
}

/**
 * A full queue drains after about one hold period (the longest another model's turn keeps
 * this one waiting), plus a load when the model is not resident.
 */
function retryAfterS(entry: ScheduledModel, config: SchedulerConfig): number {
  const coldMs = entry.state === 'ready' ? 0 : entry.info.reloadCostMs;
  return Math.max(1, Math.ceil((config.maxHoldMs + coldMs) / 1000));
}

/**
 * The model whose head waiter is granted next, if any. group: any resident model with a
 * free slot that is not draining. fifo: only the model of the oldest waiter of all, so
 * nobody overtakes (head-of-line blocking, as in a single global queue).
 */
export function nextToGrant(models: Iterable<ScheduledModel>, policy: SchedulingPolicy, draining: ReadonlySet<ScheduledModel>): ScheduledModel | undefined {
  const waiting = [...models].filter((e) => e.queue.length > 0);
  const grantable = (e: ScheduledModel) => serving(e) && e.inFlight.size < e.info.maxParallel && !draining.has(e);
  if (policy === 'group') return waiting.find(grantable);
  const head = waiting.sort((a, b) => a.queue[0].seq - b.queue[0].seq)[0];
  return head && grantable(head) ? head : undefined;
}

/** `loadMs` is the part of the wait that overlapped this residency's load. */
export function grantInfo(waiter: Waiter, residency: Tenure, now: number): GrantInfo {
  const readyAt = residency.readyAt ?? now;
  const loadMs = readyAt > waiter.arrivedAt ? readyAt - Math.max(waiter.arrivedAt, residency.startedAt) : 0;
  return { queueMs: now - waiter.arrivedAt, loadMs };
}

/**
 * A strict per-request FIFO would have loaded for this grant and we did not: the request
 * queued just before it (and not dropped) wanted a model that cannot share memory with
 * this one, and this is not the grant that paid for the residency's load.
 */
export function avoidsReload(
  waiter: Waiter,
  residency: Tenure,
  models: ReadonlyMap<string, ScheduledModel>,
  budget: (pool: PoolName) => number,
): boolean {
  const prev = waiter.prev;
  const [entry, other] = [models.get(waiter.model), prev && models.get(prev.model)];
  if (residency.grants === 0 || !prev || prev.dropped || !entry || !other || other === entry) return false;
  return !canCoReside(entry, other, budget);
}

/**
 * Whether `other` can be resident beside the resident `entry`: true when it holds memory
 * right now (they demonstrably share), else if some layer count it may load with fits
 * beside `entry`'s held bytes.
 */
function canCoReside(entry: ScheduledModel, other: ScheduledModel, budget: (pool: PoolName) => number): boolean {
  if (other.residency) return true;
  const held = heldBytes(entry);
  return layerChoices(other.info.memory, other.info.gpuLayers).some((layers) => {
    const bytes = estimateAt(other, layers);
    return Object.keys(bytes).every((pool) => (bytes[pool] ?? 0) + (held[pool] ?? 0) <= budget(pool));
  });
}
