import { isWarmgateError } from '../errors.js';
import type { ModelEntry } from '../models/model-entry.js';
import type { Lease, Residency } from '../residency/residency.js';

/**
 * A call to the host a lease gives, for a model that may have several. When the host could
 * not be reached at all (refused, reset: nothing of the request ran there), the copy there
 * is counted gone and the call is made again on another host, once per host, before the
 * error is the client's. A timeout is not retried: the host may be working on it. `leased`
 * sees each lease as it is granted (the record notes its wait). A model with one host takes
 * the plain path: one acquire, one call, nothing allocated for retries.
 */
export async function onSomeHost<T>(
  residency: Residency,
  entry: ModelEntry,
  signal: AbortSignal,
  call: (lease: Lease) => Promise<T>,
  leased?: (lease: Lease) => void,
): Promise<{ lease: Lease; result: T }> {
  const tried: ModelEntry[] = [];
  for (;;) {
    const lease = await (entry.hosts ? residency.acquire(entry, signal, { avoid: tried }) : residency.acquire(entry, signal));
    leased?.(lease);
    try {
      return { lease, result: await call(lease) };
    } catch (err) {
      lease.release();
      const host = lease.entry;
      if (!entry.hosts || signal.aborted || !(isWarmgateError(err) && err.code === 'WG_UPSTREAM_UNREACHABLE')) throw err;
      residency.lost(host.backend, host.name);
      tried.push(host);
      if (tried.length >= entry.hosts.length) throw err;
    }
  }
}
