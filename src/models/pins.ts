import { LOAD_OPTION_KEYS } from '../config/schema.js';
import { keepAliveSeconds } from '../config/units.js';
import type { RequestTimer } from '../telemetry/timer.js';
import type { BackendModel } from '../backends/backend.js';

type Options = Record<string, unknown>;

/**
 * Pinning, so clients stop forcing reloads. Each model gets ONE set of load-time options,
 * fixed the first time it is needed: the configured `pin` values, plus, for keys the config
 * leaves open, whatever the first request carried (including "not set"). Every later request,
 * the preload and the unload carry exactly that set, so Ollama never sees a change that would
 * reload the model. Sampling options pass untouched.
 */
export class Pins {
  readonly #sets = new Map<string, Options>();

  /** The pinned load options for a model, fixing them from config (and `seen`) on first use. */
  loadOptions(entry: BackendModel, seen: Options = {}): Options {
    let pinned = this.#sets.get(entry.name);
    if (!pinned) {
      pinned = {};
      for (const key of LOAD_OPTION_KEYS) {
        const value = entry.config.pin[key] ?? seen[key];
        if (value !== undefined) pinned[key] = value;
      }
      this.#sets.set(entry.name, pinned);
    }
    return pinned;
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
}
