import type { Backend, CatalogModel } from '../backends/backend.js';
import { ConfigError } from '../config/load.js';
import { modelSchema, type Config } from '../config/schema.js';
import { hostsOf, type ModelEntry } from './model-entry.js';

/*
 * models/ owns what the gateway serves: names, aliases, discovery, local GGUFs, pins. It
 * may import backends/backend.ts (types), config/, gguf/, memory/ and telemetry's record.
 */

/** Discovered catalogs are refreshed at most this often when a name is not found. */
const REFRESH_MS = 2_000;

/**
 * Resolves the names clients send (names, aliases, Ollama names without `:latest`) to
 * model entries: the ones declared in config, plus every model a discovering backend lists.
 */
export class ModelRegistry {
  #declared = new Map<string, ModelEntry>();
  #aliases = new Map<string, string>();
  /** Local models (models_dir, the embedded default): found at start, kept across reloads. */
  readonly #local: ModelEntry[];
  #discovered = new Map<string, ModelEntry>();
  /** What each discovering backend listed last (its own entries), kept while it is unreachable. */
  readonly #listed = new Map<Backend, Map<string, ModelEntry>>();
  readonly #backends: Map<string, Backend>;
  readonly #discovering: Backend[];
  #defaultParallel = new Map<Backend, number>();
  #refreshedAt = -Infinity;
  /** Discovering backends whose last catalog read failed, with why: their names are unknown, not absent. */
  readonly #unreachable = new Map<Backend, Error>();
  #refreshing?: Promise<ReadonlyMap<Backend, CatalogModel[]>>;

  constructor(config: Config, backends: Map<string, Backend>, extra: ModelEntry[] = []) {
    this.#backends = backends;
    this.#local = extra;
    this.#discovering = Object.entries(config.backends)
      .filter(([, b]) => (b.kind === 'ollama' || b.kind === 'warmgate') && b.discover)
      .map(([name]) => backends.get(name)!)
      .filter(Boolean);
    this.#defaultParallel = new Map(this.#discovering.map((b) => [b, backendParallel(config, b)]));
    [this.#declared, this.#aliases] = this.#declare(config);
  }

  /**
   * A config reload: the declared models become `config`'s (its backends must be the
   * running ones). All or nothing: a config the registry refuses (ConfigError) changes
   * nothing. A model whose settings are equal keeps its entry; one whose only changes
   * leave its load alone (`RELOAD_FREE_KEYS`) keeps its entry with the new config; any
   * other change is a new entry. Discovered catalogs are read afresh on the next lookup.
   */
  reconfigure(config: Config): ModelChanges {
    const [declared, aliases] = this.#declare(config);
    const changes: ModelChanges = { added: [], removed: [], changed: [], updated: [], kept: [] };
    for (const [name, next] of declared) {
      // A discovered model the config now declares is a new entry (its registration and pins were the discovered one's).
      const before = this.#declared.get(name) ?? this.#discovered.get(name);
      const change = !before ? 'added' : before.discovered && !next.discovered ? 'changed' : compareEntries(before, next);
      if (change === 'kept' || change === 'updated') {
        before!.config = next.config;
        declared.set(name, before!);
      }
      changes[change].push(declared.get(name)!);
    }
    for (const [name, before] of this.#declared) if (!declared.has(name)) changes.removed.push(before);
    [this.#declared, this.#aliases] = [declared, aliases];
    this.#refreshedAt = -Infinity;
    return changes;
  }

  #declare(config: Config): [Map<string, ModelEntry>, Map<string, string>] {
    const declared = new Map<string, ModelEntry>();
    const aliases = new Map<string, string>();
    const add = (entry: ModelEntry) => {
      declared.set(entry.name, entry);
      for (const alias of entry.config.aliases) aliases.set(alias, entry.name);
    };
    for (const [name, model] of Object.entries(config.models)) {
      const backends = model.backends ? model.backends.map((b) => this.#backendFor(name, b)) : [this.#backendFor(name, model.backend)];
      const hosts = backends.map((backend): ModelEntry => {
        const parallel = model.parallel ?? backendParallel(config, backend);
        return { name, upstream: model.upstream ?? name, backend, config: { ...model, parallel }, type: model.type, discovered: false };
      });
      add(servedBy(hosts));
    }
    for (const entry of this.#local) if (!declared.has(entry.name)) add(entry);
    return [declared, aliases];
  }

  /** Every model served now: declared first, then discovered ones (refreshed). */
  async list(): Promise<ModelEntry[]> {
    return (await this.listWithCatalogs()).entries;
  }

  /**
   * `list()`, plus the catalogs the refresh read from the discovering backends (those it
   * reached), so a caller that needs them too does not ask those daemons again.
   */
  async listWithCatalogs(): Promise<{ entries: ModelEntry[]; catalogs: ReadonlyMap<Backend, CatalogModel[]> }> {
    const catalogs = await this.#refresh(true);
    const entries = [...this.#declared.values(), ...[...this.#discovered.values()].filter((e) => !this.#declared.has(e.name))];
    return { entries, catalogs };
  }

  /** Reads the discovering backends' catalogs now (after a pull, copy, create or delete through the gateway). */
  async refresh(): Promise<void> {
    await this.#refresh(true);
  }

  /** The discovering backends the last refresh could not read, with the error (a name not found may be theirs). */
  unreachable(): Array<{ backend: Backend; error: Error }> {
    return [...this.#unreachable].map(([backend, error]) => ({ backend, error }));
  }

  /** Every discovering backend, with the error of its last read when it failed (the start banner). */
  discovering(): Array<{ backend: Backend; error?: Error }> {
    return this.#discovering.map((backend) => ({ backend, error: this.#unreachable.get(backend) }));
  }

  /**
   * Rebuilds the discovered models from what each daemon lists: a name several daemons list
   * is one model served by all of them. An entry whose hosts did not change is kept.
   */
  #collectDiscovered(): void {
    const byName = new Map<string, ModelEntry[]>();
    for (const backend of this.#discovering) {
      for (const [name, entry] of this.#listed.get(backend) ?? []) byName.set(name, [...(byName.get(name) ?? []), entry]);
    }
    const discovered = new Map<string, ModelEntry>();
    for (const [name, listing] of byName) {
      // One model is served by backends of one kind (a request may go to any): the first's.
      const hosts = listing.filter((h) => h.backend.kind === listing[0].backend.kind);
      const before = this.#discovered.get(name);
      const had = before && hostsOf(before);
      discovered.set(name, had && had.length === hosts.length && hosts.every((h, i) => had[i] === h) ? before : servedBy(hosts));
    }
    this.#discovered = discovered;
  }

  /** Known entries without touching backends (status pages, the scheduler). */
  known(): ModelEntry[] {
    return [...this.#declared.values(), ...this.#discovered.values()];
  }

  async resolve(name: string): Promise<ModelEntry | undefined> {
    const hit = this.#lookup(name);
    if (hit || this.#discovering.length === 0) return hit;
    await this.#refresh(false);
    return this.#lookup(name);
  }

  #lookup(name: string): ModelEntry | undefined {
    for (const candidate of nameVariants(name)) {
      const canonical = this.#aliases.get(candidate) ?? candidate;
      const entry = this.#declared.get(canonical) ?? this.#discovered.get(canonical);
      if (entry) return entry;
    }
    return undefined;
  }

  /** A declared model that already stands for this upstream name (so it gets one pin set, not two). */
  #declaredFor(backend: Backend, upstream: string): ModelEntry | undefined {
    for (const e of this.#declared.values()) {
      if (hostsOf(e).some((h) => h.backend === backend) && nameVariants(e.upstream).includes(upstream)) return e;
    }
    return undefined;
  }

  #backendFor(model: string, wanted: string | undefined): Backend {
    if (wanted) {
      const backend = this.#backends.get(wanted);
      // Only a reload can name one that is not running: backends are built at start.
      if (!backend) throw new ConfigError(`invalid config: models.${model}.backend: backend ${JSON.stringify(wanted)} is not running; backends change only on a restart`);
      return backend;
    }
    if (this.#backends.size === 1) return [...this.#backends.values()][0];
    const names = [...this.#backends.keys()].map((n) => JSON.stringify(n)).join(', ');
    throw new ConfigError(`invalid config: models.${model}.backend is required when there is not exactly one backend; allowed: ${names || 'declare a backend first'}`);
  }

  /**
   * Re-reads discovering backends' catalogs; `force` skips the rate limit, and so does a
   * backend that could not be read last time (it is retried on the next request, so the
   * gateway recovers as soon as it answers). Unreachable backends keep their last list.
   * Resolves with the catalogs this refresh read (none when the rate limit skipped it);
   * callers at the same time share one refresh.
   */
  async #refresh(force: boolean): Promise<ReadonlyMap<Backend, CatalogModel[]>> {
    if (!force && this.#unreachable.size === 0 && performance.now() - this.#refreshedAt < REFRESH_MS) return new Map();
    this.#refreshing ??= (async () => {
      const lists = await Promise.allSettled(this.#discovering.map(async (b) => ({ backend: b, models: await b.catalog() })));
      const read = new Map<Backend, CatalogModel[]>();
      for (const [i, result] of lists.entries()) {
        if (result.status !== 'fulfilled') {
          this.#unreachable.set(this.#discovering[i], result.reason as Error);
          continue;
        }
        const { backend, models } = result.value;
        this.#unreachable.delete(backend);
        read.set(backend, models);
        // A model listed again keeps its entry: parts keyed by the entry object (the embedding
        // cache's keys) must not take every catalog read for a new model.
        const before = this.#listed.get(backend) ?? new Map<string, ModelEntry>();
        const listed = new Map<string, ModelEntry>();
        for (const m of models) {
          const declared = this.#declaredFor(backend, m.name);
          const kept = before.get(m.name);
          if (declared) this.#aliases.set(m.name, declared.name);
          else listed.set(m.name, kept?.upstream === (m.model || m.name) ? kept : discoveredEntry(m, backend, this.#defaultParallel.get(backend) ?? 1));
        }
        this.#listed.set(backend, listed);
      }
      this.#collectDiscovered();
      this.#refreshedAt = performance.now();
      return read;
    })().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }
}

/** What a config reload did to the served models (each list holds the entries now served, or the removed ones). */
export interface ModelChanges {
  added: ModelEntry[];
  removed: ModelEntry[];
  /** Load settings changed: a new entry; the running model is replaced once idle. */
  changed: ModelEntry[];
  /** Only settings that leave the loaded model alone changed: same entry, new config. */
  updated: ModelEntry[];
  kept: ModelEntry[];
}

/**
 * Model settings a running model can take without being loaded again: names, the
 * gateway's own policies. Any other key (file, ctx, pin, parallel, gpu_layers, threads,
 * mmap, extra_args, upstream, type, backend) is how the model is loaded.
 */
export const RELOAD_FREE_KEYS = ['aliases', 'keep_alive', 'allow_client_unload', 'preload', 'pinned', 'replicas'] as const;

function compareEntries(before: ModelEntry, next: ModelEntry): 'kept' | 'updated' | 'changed' {
  if (loadIdentity(before) !== loadIdentity(next)) return 'changed';
  return canonical(before.config) === canonical(next.config) ? 'kept' : 'updated';
}

/**
 * What decides a model's load, and so its outputs: its backend, its name there and its load
 * settings (not aliases, keep-alive and the other reload-free keys). The same text in two
 * processes means the same load: the shared embedding cache keys on it, so replicas agree
 * and a reconfigured model never meets the vectors of the one it replaced.
 */
export function loadIdentity(e: ModelEntry): string {
  const settings: Record<string, unknown> = { ...e.config };
  for (const key of RELOAD_FREE_KEYS) delete settings[key];
  return canonical({ backend: e.backend.name, upstream: e.upstream, settings });
}

/** JSON with object keys sorted, so equal settings compare equal whatever their order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v));
}

/** Ollama treats `llama3` and `llama3:latest` as the same model. */
function nameVariants(name: string): string[] {
  if (name.endsWith(':latest')) return [name, name.slice(0, -':latest'.length)];
  return name.includes(':') ? [name] : [name, `${name}:latest`];
}

/**
 * The entry for a model its hosts serve: the one host's entry, or (several) an entry whose
 * `hosts` are theirs, each marked as a copy of it.
 */
function servedBy(hosts: ModelEntry[]): ModelEntry {
  for (const h of hosts) h.copyOf = hosts.length > 1 ? h.name : undefined;
  if (hosts.length === 1) return hosts[0];
  return { ...hosts[0], copyOf: undefined, hosts };
}

function discoveredEntry(m: CatalogModel, backend: Backend, parallel: number): ModelEntry {
  return { name: m.name, upstream: m.model || m.name, backend, config: { ...modelSchema.parse({}), parallel }, discovered: true };
}

/** A model's slots when its config says nothing: the Ollama backend's `parallel`, else one. */
function backendParallel(config: Config, backend: Backend): number {
  const b = config.backends[backend.name];
  return b?.kind === 'ollama' ? b.parallel : 1;
}
