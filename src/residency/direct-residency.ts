import type { ModelEntry } from '../models/model-entry.js';
import type { Lease, Residency } from './residency.js';

/**
 * No scheduling: every request is granted at once and the backend loads on demand (an
 * Ollama daemon loads on the first request). Used where residency is the backend's job.
 */
export class DirectResidency implements Residency {
  #inFlight = 0;

  async acquire(_entry: ModelEntry, signal: AbortSignal): Promise<Lease> {
    signal.throwIfAborted();
    this.#inFlight++;
    let released = false;
    return {
      queueMs: 0,
      loadMs: 0,
      release: () => {
        if (released) return;
        released = true;
        this.#inFlight--;
      },
    };
  }

  async load(entry: ModelEntry): Promise<void> {
    await entry.backend.load(entry, { signal: AbortSignal.timeout(600_000) });
  }

  async unload(entry: ModelEntry): Promise<void> {
    await entry.backend.unload(entry);
  }

  status(): Record<string, unknown> {
    return { policy: 'direct', in_flight: this.#inFlight };
  }

  async close(): Promise<void> {}
}
