import type { EmbedRequest, EmbedResult } from '../dialects/canonical.js';
import type { ModelEntry } from '../models/model-entry.js';
import type { Residency } from '../residency/residency.js';
import { round, type RequestTimer } from '../telemetry/timer.js';

/**
 * Embeddings: wait for residency, call the backend, account. The batching layer (cache,
 * single-flight, micro-batches) sits in front of this when enabled.
 */
export class EmbedService {
  readonly #residency: Residency;

  constructor(residency: Residency) {
    this.#residency = residency;
  }

  async embed(entry: ModelEntry, req: EmbedRequest, timer: RequestTimer, signal: AbortSignal): Promise<EmbedResult> {
    const lease = await this.#residency.acquire(entry, signal);
    timer.record.queue_ms = round(lease.queueMs);
    timer.record.load_ms = round(lease.loadMs);
    try {
      const result = await entry.backend.embed(entry, req, signal);
      timer.record.prompt_tokens = result.promptTokens;
      if (result.timings.loadMs) timer.record.load_ms = round(timer.record.load_ms + result.timings.loadMs);
      return result;
    } finally {
      lease.release();
    }
  }
}
