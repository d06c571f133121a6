import { LOAD_OPTION_KEYS, type LoadOptionKey } from '../../src/config/schema.js';

/**
 * The residency rules of an Ollama daemon, as RUNTIMES.md describes them, for the fake:
 * loads are serialized; a model is RELOADED when any load-time option differs from what it
 * was loaded with (absent options count as Ollama's defaults); keep-alive is set by a
 * request that sends one, else kept, and the daemon default applies only when a model is
 * loaded. Room is made as Ollama's scheduler does (server/sched.go `findRunnerToUnload`):
 * beyond `maxLoaded` models, or, with a `vram` figure, while the newcomer does not fit
 * wholly in the VRAM the others leave, one model is unloaded at a time, an idle one first,
 * the shortest keep-alive first (forever-kept ones last), then by name; a busy one is waited
 * for (its requests finish, and everything behind the load waits meanwhile, as in Ollama's
 * one-at-a-time pending loop). A model loaded
 * alone takes what VRAM there is and the rest in RAM (`size_vram` < `size`). Expiry is
 * checked lazily against the injected clock, so tests control it without timers.
 */

/** Ollama's defaults for the load-time options (what a request that omits them gets). */
export const DEFAULT_LOAD_OPTIONS: Record<LoadOptionKey, unknown> = {
  num_ctx: 4096, num_batch: 512, num_gpu: -1, main_gpu: 0, use_mmap: null, use_mlock: false, num_thread: 0,
  low_vram: false, f16_kv: true, logits_all: false, vocab_only: false, numa: false,
};

export interface ResidentModel {
  name: string;
  /** Effective load options (defaults filled in). */
  options: Record<string, unknown>;
  /** Infinity = kept forever (negative keep_alive). */
  keepAliveMs: number;
  expiresAt: number;
  /** Bytes in memory, and how many of them are in VRAM (`/api/ps` `size`, `size_vram`). */
  size: number;
  sizeVram: number;
  busy: number;
  /** Called when `busy` falls to 0 (a load waiting to evict it). */
  onIdle?: () => void;
}

export interface LoadRecord {
  model: string;
  options: Record<string, unknown>;
}

export interface Lease {
  /** Whether this request loaded (or reloaded) the model. */
  loaded: boolean;
  /** The load options the model runs with. */
  options: Record<string, unknown>;
  release(): void;
}

export interface FakeResidencyOptions {
  maxLoaded: number;
  /** The daemon's VRAM in bytes; absent: every model fits in VRAM (only `maxLoaded` evicts). */
  vram?: number;
  /** A model's size in memory once loaded. */
  sizeOf: (model: string) => number;
  defaultKeepAliveMs: number;
  now: () => number;
  /** Awaited inside every load: where tests hold loads. */
  beforeLoad: (model: string) => Promise<void>;
}

export class FakeResidency {
  /** Every load, in order (reloads included). */
  readonly loads: LoadRecord[] = [];
  /** Every unload, in order (evictions, expiries, keep_alive 0, reloads). */
  readonly unloads: string[] = [];
  readonly #resident = new Map<string, ResidentModel>();
  readonly #opts: FakeResidencyOptions;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(opts: FakeResidencyOptions) {
    this.#opts = opts;
  }

  /** Waits (behind earlier loads) until `model` is resident with these load options. */
  acquire(model: string, requested: Record<string, unknown>, keepAliveMs: number | undefined): Promise<Lease> {
    return this.#serialized(() => this.#acquire(model, effectiveOptions(requested), keepAliveMs));
  }

  /** Ollama's `keep_alive: 0` on an empty request: unload now, or when its requests finish. */
  unload(model: string): Promise<void> {
    return this.#serialized(async () => {
      const current = this.#resident.get(model);
      if (!current) return;
      if (current.busy > 0) current.keepAliveMs = 0;
      else this.#drop(model);
    });
  }

  /** Resident models after expiring those whose keep-alive ran out. */
  resident(): ResidentModel[] {
    this.#expire();
    return [...this.#resident.values()];
  }

  /** A deleted model leaves memory too. */
  forget(model: string): void {
    if (this.#resident.has(model)) this.#drop(model);
  }

  async #acquire(model: string, options: Record<string, unknown>, keepAliveMs: number | undefined): Promise<Lease> {
    this.#expire();
    let current = this.#resident.get(model);
    const loaded = !current || !sameOptions(current.options, options);
    if (loaded) {
      if (current) this.#drop(model);
      const size = this.#opts.sizeOf(model);
      await this.#makeRoom(size);
      await this.#opts.beforeLoad(model);
      const sizeVram = Math.min(size, this.#freeVram());
      current = { name: model, options, keepAliveMs: keepAliveMs ?? this.#opts.defaultKeepAliveMs, expiresAt: Infinity, size, sizeVram, busy: 0 };
      this.#resident.set(model, current);
      this.loads.push({ model, options });
    } else if (keepAliveMs !== undefined) {
      current!.keepAliveMs = keepAliveMs;
    }
    const held = current!;
    held.busy++;
    held.expiresAt = this.#opts.now() + held.keepAliveMs;
    let released = false;
    return {
      loaded,
      options: held.options,
      release: () => {
        if (released) return;
        released = true;
        held.busy--;
        held.expiresAt = this.#opts.now() + held.keepAliveMs;
        if (held.busy === 0) held.onIdle?.();
        if (held.busy === 0 && held.keepAliveMs === 0 && this.#resident.get(model) === held) this.#drop(model);
      },
    };
  }

  #serialized<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(step);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /** Unloads one model at a time until a newcomer of `size` bytes may load; a busy victim is waited for. */
  async #makeRoom(size: number): Promise<void> {
    while (this.#resident.size >= this.#opts.maxLoaded || (this.#resident.size > 0 && size > this.#freeVram())) {
      const [victim] = [...this.#resident.values()].sort(
        (a, b) => Number(a.busy > 0) - Number(b.busy > 0) || compare(a.keepAliveMs, b.keepAliveMs) || a.name.localeCompare(b.name),
      );
      if (victim.busy > 0) await new Promise<void>((resolve) => (victim.onIdle = resolve));
      victim.onIdle = undefined;
      if (this.#resident.get(victim.name) === victim) this.#drop(victim.name);
    }
  }

  #freeVram(): number {
    return (this.#opts.vram ?? Infinity) - [...this.#resident.values()].reduce((sum, m) => sum + m.sizeVram, 0);
  }

  #expire(): void {
    const now = this.#opts.now();
    for (const m of [...this.#resident.values()]) if (m.busy === 0 && now >= m.expiresAt) this.#drop(m.name);
  }

  #drop(model: string): void {
    this.#resident.delete(model);
    this.unloads.push(model);
  }
}

function effectiveOptions(requested: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(LOAD_OPTION_KEYS.map((key) => [key, requested[key] ?? DEFAULT_LOAD_OPTIONS[key]]));
}

function sameOptions(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return LOAD_OPTION_KEYS.every((key) => a[key] === b[key]);
}

/** Ascending, Infinity included (a difference of two Infinities is NaN). */
function compare(a: number, b: number): number {
  return a === b ? 0 : a < b ? -1 : 1;
}
