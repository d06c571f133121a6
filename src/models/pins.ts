import type { Logger } from 'pino';
import { LOAD_OPTION_KEYS } from '../config/schema.js';
import { keepAliveSeconds } from '../config/units.js';
import type { RequestTimer } from '../telemetry/timer.js';
import type { Backend, BackendModel } from '../backends/backend.js';
import { ASSUMED_DEFAULT_CTX, nextContext, type ContextWant } from './context-pin.js';

type Options = Record<string, unknown>;

/**
 * Pinning, so clients stop forcing reloads. Each model gets ONE set of load-time options:
 * the configured `pin` values, plus, for keys the config leaves open, whatever the first
 * request carried (including "not set"). `num_ctx` is the exception: unless the config fixes
 * it, it only grows, to the largest context a request asked for or a prompt needs, within
 * `max_ctx` and the model's own `context_length` (context-pin.ts). Every request, the
 * preload and the unload carry the current set, so Ollama reloads only when it grows.
 * Sampling options pass untouched.
 */
export class Pins {
  readonly #sets = new Map<string, Options>();
  /** The model's own `context_length`, learnt from its backend once it matters. */
  readonly #modelMax = new Map<string, number | undefined>();
  readonly #grown = new Set<string>();
  readonly #log: Logger | undefined;

  constructor(log?: Logger) {
    this.#log = log;
  }

  /** The pinned load options for a model, fixing them from config (and `seen`) on first use. */
  loadOptions(entry: BackendModel, seen: Options = {}): Options {
    let pinned = this.#sets.get(entry.name);
    if (!pinned) {
      pinned = {};
      for (const key of LOAD_OPTION_KEYS) {
        const value = entry.config.pin[key] ?? (key === 'num_ctx' ? undefined : seen[key]);
        if (value !== undefined) pinned[key] = value;
      }
      this.#sets.set(entry.name, pinned);
    }
    return pinned;
  }

  /** A config reload changed or removed the model: its next use pins afresh (and learns its own context limit again). */
  forget(name: string): void {
    this.#sets.delete(name);
    this.#modelMax.delete(name);
    this.#grown.delete(name);
  }

  /**
   * Settles the model's context for a request that sent `options` and a prompt of about
   * `promptTokens`: the pin grows when it asks for more or its prompt needs more (throws
   * WG_CONTEXT_LENGTH past the cap). Notes what was asked and what is pinned on the record.
   * Returns true when the pin changed, so a model loaded with the old context is stale; a
   * promise of it only while the model's own context limit is being asked for.
   */
  fitContext(entry: BackendModel & { backend: Backend }, options: Options | undefined, promptTokens: number | undefined, timer?: RequestTimer): boolean | Promise<boolean> {
    const used = this.#sets.has(entry.name);
    const pinned = this.loadOptions(entry, options);
    const want: ContextWant = { asked: typeof options?.num_ctx === 'number' ? options.num_ctx : undefined, promptTokens };
    const fixed = entry.config.pin.num_ctx;
    // Read when it settles (after any wait: another request may have grown it meanwhile).
    const settle = (): boolean => {
      const current = pinned.num_ctx as number | undefined;
      const next = nextContext(current, want, { fixed, max: entry.config.max_ctx, modelMax: this.#modelMax.get(entry.name) });
      if (timer) timer.record.num_ctx = { asked: want.asked ?? null, pinned: next ?? null };
      if (next === current) return false;
      pinned.num_ctx = next;
      if (used && !this.#grown.has(entry.name)) {
        this.#grown.add(entry.name);
        this.#log?.warn({ model: entry.name, from: current ?? null, to: next, asked: want.asked ?? null, prompt_tokens: want.promptTokens ?? null },
          'the context pin grows: the model reloads once with the larger num_ctx');
      }
      return true;
    };
    // The model's own limit is asked for only when a request could reach past what is pinned
    // (once per model); every other request settles at once, with no promise in between.
    const reaches = (ctx: number | undefined) => (want.asked ?? 0) > (ctx ?? 0) || (want.promptTokens ?? 0) > (ctx ?? ASSUMED_DEFAULT_CTX);
    if (fixed === undefined && !this.#modelMax.has(entry.name) && reaches(pinned.num_ctx as number | undefined)) return this.#learnModelMax(entry).then(settle);
    return settle();
  }

  /** Client options with every load-time option replaced by the pin; each change is noted on the record. */
  apply(entry: BackendModel, options: Options | undefined, timer?: RequestTimer): Options {
    const sent = options ?? {};
    const pinned = this.loadOptions(entry, sent);
    const out: Options = {};
    for (const [key, value] of Object.entries(sent)) {
      if (!(LOAD_OPTION_KEYS as readonly string[]).includes(key)) out[key] = value;
    }
    for (const key of LOAD_OPTION_KEYS) {
      if (key in sent && sent[key] !== pinned[key]) timer?.override(key, sent[key], pinned[key] ?? null);
      if (pinned[key] !== undefined) out[key] = pinned[key];
    }
    return out;
  }

  /**
   * The keep_alive to send: the model's policy, unless the client asks to unload (`0`) and
   * the model allows client unloads. Returns whether this request unloads the model.
   */
  keepAlive(entry: BackendModel, sent: unknown, timer?: RequestTimer): { keep_alive: number | string; unload: boolean } {
    const policy = entry.config.keep_alive;
    if (sent === undefined || sent === null) return { keep_alive: policy, unload: false };
    const seconds = typeof sent === 'number' || typeof sent === 'string' ? keepAliveSeconds(sent) : undefined;
    if (seconds === 0 && entry.config.allow_client_unload) return { keep_alive: 0, unload: true };
    if (sent !== policy) timer?.override('keep_alive', sent, policy);
    return { keep_alive: policy, unload: false };
  }

  /** `model_info["<arch>.context_length"]` from the backend's `/api/show`; unknown (and asked again later) when it cannot answer. */
  async #learnModelMax(entry: BackendModel & { backend: Backend }): Promise<void> {
    try {
      const info = (await entry.backend.show(entry)).model_info as Record<string, unknown> | undefined;
      const key = Object.keys(info ?? {}).find((k) => k.endsWith('.context_length'));
      this.#modelMax.set(entry.name, key && typeof info?.[key] === 'number' ? (info[key] as number) : undefined);
    } catch {
      // unknown for now: asked again by the next request that reaches past the pin
    }
  }
}
