import type { CatalogModel, RunningModel } from '../backends/backend.js';
import type { ModelEntry } from '../models/model-entry.js';
import type { ModelRegistry } from '../models/registry.js';
import type { Logger } from 'pino';

/**
 * The merged catalog across backends, under the gateway's names: what `/api/tags`,
 * `/api/ps` and `/v1/models` list. A backend that cannot be reached is left out (and
 * logged) rather than failing the whole list: these routes must answer at once.
 */
export class Catalog {
  readonly #registry: ModelRegistry;
  readonly #log: Logger;

  constructor(registry: ModelRegistry, log: Logger) {
    this.#registry = registry;
    this.#log = log;
  }

  async tags(): Promise<CatalogModel[]> {
    return this.#merge((b) => b.catalog());
  }

  async running(): Promise<RunningModel[]> {
    return this.#merge((b) => b.running());
  }

  async #merge<T extends CatalogModel>(read: (b: ModelEntry['backend']) => Promise<T[]>): Promise<T[]> {
    const entries = await this.#registry.list();
    const backends = [...new Set(entries.map((e) => e.backend))];
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
      const item = lists.get(entry.backend)?.find((m) => matches(m, entry.upstream));
      if (item) out.push({ ...item, name: entry.name, model: entry.name });
    }
    return out;
  }
}

function matches(m: CatalogModel, upstream: string): boolean {
  const names = [m.name, m.model];
  return names.includes(upstream) || (!upstream.includes(':') && names.includes(`${upstream}:latest`));
}
