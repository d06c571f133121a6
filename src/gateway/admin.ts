import type { EmbeddingStats } from '../batching/embedding-pipeline.js';
import { modelNotFound } from '../errors.js';
import type { ModelRegistry } from '../models/registry.js';
import type { Residency, ResidencyStatus } from '../residency/residency.js';
import type { RequestRecord } from '../telemetry/record.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import type { EmbedService } from './embed-service.js';

/** `GET /warmgate/status`: the residency's status plus the embedding pipeline's counters. */
export type AdminStatus = ResidencyStatus & { embeddings: EmbeddingStats };

/** The gateway's own surface: status, recent records, Prometheus metrics, residency control by name. */
export class Admin {
  readonly #registry: ModelRegistry;
  readonly #residency: Residency;
  readonly #telemetry: Telemetry;
  readonly #embeddings: EmbedService;

  constructor(parts: { registry: ModelRegistry; residency: Residency; telemetry: Telemetry; embeddings: EmbedService }) {
    this.#registry = parts.registry;
    this.#residency = parts.residency;
    this.#telemetry = parts.telemetry;
    this.#embeddings = parts.embeddings;
  }

  /** The scheduler's snapshot plus the embedding pipeline's counters. */
  status(): AdminStatus {
    return { ...this.#residency.status(), embeddings: this.#embeddings.stats() };
  }

  /** Most recent first. */
  recent(limit: number): RequestRecord[] {
    return this.#telemetry.recent(limit);
  }

  async metrics(): Promise<{ text: string; contentType: string }> {
    const { metrics } = this.#telemetry;
    return { text: await metrics.text(), contentType: metrics.registry.contentType };
  }

  /** Loads or unloads a model now; resolves with its public name when done. */
  async residency(action: 'load' | 'unload', name: string): Promise<string> {
    const entry = await this.#registry.resolve(name);
    if (!entry) throw modelNotFound(name);
    await this.#residency[action](entry);
    return entry.name;
  }
}
