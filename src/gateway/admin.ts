import type { Backend } from '../backends/backend.js';
import type { EmbeddingStats } from '../batching/embedding-pipeline.js';
import { ConfigError } from '../config/load.js';
import { modelNotFound, WarmgateError } from '../errors.js';
import type { ModelRegistry } from '../models/registry.js';
import type { Residency, ResidencyStatus } from '../residency/residency.js';
import type { RequestRecord } from '../telemetry/record.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import type { BreakerStatus } from '../upstream/circuit-breaker.js';
import type { EmbedService } from './embed-service.js';
import type { HostStatus } from '../backends/backend.js';

/**
 * What a config reload did (`POST /warmgate/reload`, SIGHUP): models by what happened to
 * them, and the settings that changed in the file but wait for a restart.
 */
export interface ReloadReport {
  added: string[];
  removed: string[];
  /** Load settings changed: unloaded once idle, loaded afresh on the next request. */
  changed: string[];
  /** Only the gateway's policies for them changed (aliases, keep_alive, ...): they keep running. */
  updated: string[];
  kept: string[];
  /** Keys that changed but take effect only after a restart (they keep their running value). */
  restart_needed: string[];
}

/** A remote Warmgate this one is in front of (a `warmgate` backend), which reports its own state. */
export interface Host {
  readonly name: string;
  hostStatus(): Promise<HostStatus>;
}

/** One backend's health: its breaker's state, or null where it has none (the processes Warmgate runs, `breaker: false`). */
export interface BackendHealth {
  name: string;
  kind: Backend['kind'];
  breaker: BreakerStatus | null;
}

/**
 * `GET /warmgate/status`: the residency's status plus the embedding pipeline's counters, each
 * backend's health, and each remote Warmgate's own models and pools by backend name (or why
 * it could not be read).
 */
export type AdminStatus = ResidencyStatus & {
  embeddings: EmbeddingStats;
  backends: BackendHealth[];
  hosts: Record<string, HostStatus | { error: string }>;
};

/** Each backend's health, for the status page and `/metrics`. */
export function backendHealth(backends: Iterable<Backend>): BackendHealth[] {
  return [...backends].map((b) => ({ name: b.name, kind: b.kind, breaker: b.breaker?.status() ?? null }));
}

/** The gateway's own surface: status, recent records, Prometheus metrics, residency control by name. */
export class Admin {
  readonly #registry: ModelRegistry;
  readonly #residency: Residency;
  readonly #telemetry: Telemetry;
  readonly #embeddings: EmbedService;
  readonly #backends: ReadonlyMap<string, Backend>;
  readonly #hosts: readonly Host[];
  readonly #reload: () => Promise<ReloadReport>;

  constructor(parts: {
    registry: ModelRegistry; residency: Residency; telemetry: Telemetry; embeddings: EmbedService;
    backends: ReadonlyMap<string, Backend>; hosts: readonly Host[]; reload: () => Promise<ReloadReport>;
  }) {
    this.#reload = parts.reload;
    this.#backends = parts.backends;
    this.#hosts = parts.hosts;
    this.#registry = parts.registry;
    this.#residency = parts.residency;
    this.#telemetry = parts.telemetry;
    this.#embeddings = parts.embeddings;
  }

  /** The scheduler's snapshot plus the embedding pipeline's counters, the backends' health, and each remote host's own (read now, all at once). */
  async status(): Promise<AdminStatus> {
    const hosts = await Promise.all(this.#hosts.map(async (h) => [h.name, await h.hostStatus().catch((err: Error) => ({ error: err.message }))] as const));
    return {
      ...this.#residency.status(), embeddings: this.#embeddings.stats(),
      backends: backendHealth(this.#backends.values()), hosts: Object.fromEntries(hosts),
    };
  }

  /** Most recent first. */
  recent(limit: number): RequestRecord[] {
    return this.#telemetry.recent(limit);
  }

  async metrics(): Promise<{ text: string; contentType: string }> {
    const { metrics } = this.#telemetry;
    return { text: await metrics.text(), contentType: metrics.registry.contentType };
  }

  /** Re-reads the config file and applies it; a config start-up would refuse is a 400 with the same message, and the old config stays. */
  async reload(): Promise<ReloadReport> {
    try {
      return await this.#reload();
    } catch (err) {
      throw err instanceof ConfigError ? new WarmgateError('BAD_REQUEST', err.message, { cause: err }) : err;
    }
  }

  /** Loads or unloads a model now; resolves with its public name when done. */
  async residency(action: 'load' | 'unload', name: string): Promise<string> {
    const entry = await this.#registry.resolve(name);
    if (!entry) throw modelNotFound(name);
    await this.#residency[action](entry);
    return entry.name;
  }
}
