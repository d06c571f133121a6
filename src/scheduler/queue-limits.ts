import type { ModelEntry } from './model-entry.js';
import type { Rejection, SchedulerConfig } from './types.js';

/**
 * Back-pressure: a request past `maxQueuePerModel` or `maxQueueTotal` is refused at once
 * with QUEUE_FULL rather than left to wait behind a queue that cannot drain in time.
 */
export function queueFull(entry: ModelEntry, models: Iterable<ModelEntry>, config: SchedulerConfig): Rejection | undefined {
  const queuedTotal = [...models].reduce((n, e) => n + e.queue.length, 0);
  const message = entry.queue.length >= config.maxQueuePerModel ? `the queue for ${entry.info.name} is full`
    : queuedTotal >= config.maxQueueTotal ? 'the request queue is full' : undefined;
  return message === undefined ? undefined : { code: 'QUEUE_FULL', message, retryAfterS: retryAfterS(entry, config) };
}

/**
 * A full queue drains after about one hold period (the longest another model's turn keeps
 * this one waiting), plus a load when the model is not resident.
 */
function retryAfterS(entry: ModelEntry, config: SchedulerConfig): number {
  const coldMs = entry.state === 'ready' ? 0 : entry.info.reloadCostMs;
  return Math.max(1, Math.ceil((config.maxHoldMs + coldMs) / 1000));
}
