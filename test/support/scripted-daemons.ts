/**
 * Several scripted Ollama daemons, one per GPU host, started in this process on port 0,
 * each with its own VRAM. A host can be killed (its server closed hard: every connection
 * destroyed, the port refuses) and restarted on the same port, empty, as a rebooted box
 * comes back. Loads and unloads are counted over every life of every host.
 */
import { FakeOllama, type FakeModelSpec } from '../fakes/ollama-upstream.js';

export interface DaemonSpec {
  /** The daemon's VRAM in bytes. */
  vram: number;
  /** The models it has pulled. */
  models: FakeModelSpec[];
}

export class ScriptedDaemons {
  readonly #specs: ReadonlyMap<string, DaemonSpec>;
  /** Each host's latest daemon (a killed one until its restart). */
  readonly #latest = new Map<string, FakeOllama>();
  readonly #ports = new Map<string, number>();
  /** Every daemon started, dead ones included, with its host, for the counts. */
  readonly #lives: Array<{ name: string; daemon: FakeOllama }> = [];

  private constructor(specs: Record<string, DaemonSpec>) {
    this.#specs = new Map(Object.entries(specs));
  }

  /** Starts one daemon per host, in the order given. */
  static async start(specs: Record<string, DaemonSpec>): Promise<ScriptedDaemons> {
    const daemons = new ScriptedDaemons(specs);
    for (const name of daemons.names) await daemons.#startOne(name);
    return daemons;
  }

  get names(): string[] {
    return [...this.#specs.keys()];
  }

  /** The host's URL (the same across restarts). */
  url(name: string): string {
    return `http://127.0.0.1:${this.#ports.get(name)}`;
  }

  /** The daemon of host `name` (after a restart, the new one). */
  daemon(name: string): FakeOllama {
    const daemon = this.#latest.get(name);
    if (!daemon) throw new Error(`no host ${name}`);
    return daemon;
  }

  /** The host dies: held loads and streams are let go, every connection destroyed, and the port refuses from now on. */
  async kill(name: string): Promise<void> {
    await this.daemon(name).close();
  }

  /** The host is back on its old port: the same models pulled, none loaded. */
  restart(name: string): Promise<FakeOllama> {
    return this.#startOne(name);
  }

  /** Loads and unloads (evictions, expiries, reloads) each host's daemons made, over all their lives. */
  counts(): Record<string, { loads: number; unloads: number }> {
    const counts = Object.fromEntries(this.names.map((name) => [name, { loads: 0, unloads: 0 }]));
    for (const { name, daemon } of this.#lives) {
      counts[name].loads += daemon.loads.length;
      counts[name].unloads += daemon.unloads.length;
    }
    return counts;
  }

  /** Closes every host's daemon (closing a killed one again is harmless). */
  async close(): Promise<void> {
    await Promise.all([...this.#latest.values()].map((d) => d.close()));
  }

  async #startOne(name: string): Promise<FakeOllama> {
    const spec = this.#specs.get(name)!;
    const daemon = new FakeOllama({ models: spec.models, vram: spec.vram });
    await daemon.start(this.#ports.get(name));
    this.#ports.set(name, Number(new URL(daemon.url).port));
    this.#latest.set(name, daemon);
    this.#lives.push({ name, daemon });
    return daemon;
  }
}
