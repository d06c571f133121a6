import type { CatalogModel, RunningModel } from '../backends/backend.js';
import { hostsOf, type ModelEntry } from '../models/model-entry.js';
import type { ModelRegistry } from '../models/registry.js';
import type { Residency } from '../residency/residency.js';
import type { Logger } from 'pino';

/**
 * The merged catalog across backends, under the gateway's names (tagged as Ollama's are):
 * what `/api/tags`, `/api/ps` and `/v1/models` list. A backend that cannot be reached is left out (and
 * logged) rather than failing the whole list: these routes must answer at once.
 */
export class Catalog {
  readonly #registry: ModelRegistry;
  readonly #residency: Residency;
  readonly #log: Logger;

  constructor(registry: ModelRegistry, residency: Residency, log: Logger) {
    this.#registry = registry;
    this.#residency = residency;
    this.#log = log;
  }

  /**
   * Discovering daemons' lists come from the registry's refresh: each daemon is asked once.
   * Nothing to list because a daemon cannot be read is that daemon's 502, never an empty
   * list that looks like all is well.
   */
  async tags(): Promise<CatalogModel[]> {
    const { entries, catalogs } = await this.#registry.listWithCatalogs();
    const tags = await this.#merge(entries, async (b) => catalogs.get(b) ?? b.catalog());
    const down = this.#registry.unreachable()[0];
    if (tags.length === 0 && down) throw down.error;
    return tags;
  }

  /**
   * Where the gateway enforces a model's keep-alive (process backends), `expires_at` says
   * when it will: Ollama's own figure for the same thing. Ollama reports its own models'.
   */
  async running(): Promise<RunningModel[]> {
    const models = await this.#merge(await this.#registry.list(), (b) => b.running());
    const keepAliveLeft = new Map([...this.#residency.keepAliveLeft()].map(([name, ms]) => [tagged(name), ms]));
    const now = Date.now();
    return models.map((m) => {
      const left = keepAliveLeft.get(m.name);
      return left === undefined ? m : { ...m, expires_at: new Date(now + left).toISOString() };
    });
  }

  async #merge<T extends CatalogModel>(entries: ModelEntry[], read: (b: ModelEntry['backend']) => Promise<T[]>): Promise<T[]> {
    const backends = [...new Set(entries.flatMap(hostsOf).map((e) => e.backend))];
    const lists = new Map<ModelEntry['backend'], T[]>();
    await Promise.all(backends.map(async (b) => {
      try {
        lists.set(b, await read(b));
      } catch (err) {
        this.#log.warn({ backend: b.name, err: (err as Error).message }, 'backend left out of the model list');
      }
    }));
    const out: T[] = [];
    for (const entry of entries) {
      // A model of several hosts is listed once: as the first host that lists it (or runs it) has it.
      const item = hostsOf(entry).map((h) => lists.get(h.backend)?.find((m) => matches(m, h.upstream))).find(Boolean);
      if (item) out.push({ ...item, name: tagged(entry.name), model: tagged(entry.name) });
    }
    return out;
  }
}

/**
 * Ollama lists every name with its tag, `:latest` when none was given (a colon before the
 * last `/` is a registry's port, not a tag); the registry resolves either spelling.
 */
function tagged(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1).includes(':') ? name : `${name}:latest`;
}

function matches(m: CatalogModel, upstream: string): boolean {
  const names = [m.name, m.model];
  return names.includes(upstream) || (!upstream.includes(':') && names.includes(`${upstream}:latest`));
}
