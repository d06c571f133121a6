/**
 * Several GPU hosts behind one gateway, for the placement tests and the hosts bench (issue
 * 15): a scripted Ollama daemon per host, each with its own VRAM, started in this process
 * on port 0 (scripted-daemons.ts: a host can be killed and restarted empty on its port),
 * and a gateway PROCESS over them (`warmgate serve --config FILE`, as users run it), each
 * daemon a `kind: ollama` backend named after its host, its `memory.gpu` the daemon's VRAM.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ollama, type ChatResponse } from 'ollama';
import type { ConfigInput } from '../../src/config/schema.js';
import type { FakeOllama } from '../fakes/ollama-upstream.js';
import { Turnstile } from '../fakes/turnstile.js';
import { killed, serveProcess } from './processes.js';
import { until, type GatewayStatus } from './records.js';
import { ScriptedDaemons, type DaemonSpec } from './scripted-daemons.js';

/** Sizes and VRAM in these tests are in (decimal) gigabytes, as Ollama lists them. */
export const GB = 1e9;

/** A scheduler that never starts a copy because a request waited (`max_hold_ms` out of reach) and never reconciles behind a test's back. */
export const PATIENT = { max_hold_ms: 3_600_000, reconcile_s: 0 };

/** A prompt whose echoed reply has more lines than a test lets through a gate. */
export const longPrompt = (tag: string): string => `${tag} ${'and some more words '.repeat(4)}`;

type OllamaBackendInput = Extract<NonNullable<ConfigInput['backends']>[string], { kind: 'ollama' }>;

/** A host: its daemon's VRAM in bytes (also what the gateway is told it has, `memory.gpu`) and the models pulled there. */
export type HostSpec = DaemonSpec;

export interface HostsConfig extends Omit<ConfigInput, 'backends'> {
  /** Extra keys for every host's backend (`breaker`, `parallel`...); `discover` is false unless set here. */
  backend?: Partial<OllamaBackendInput>;
}

export class Hosts {
  /** The gateway's URL once started. */
  url = '';
  /** What the gateway wrote to stderr, line by line (its log at `log.level`, `warn` unless set). */
  readonly log: string[] = [];
  #daemons: ScriptedDaemons | undefined;
  #gateway: ChildProcess | undefined;
  #dir: string | undefined;

  /** Starts a daemon per host, then the gateway over them (in the order given, which is the backends' order in its config). */
  async start(hosts: Record<string, HostSpec>, config: HostsConfig = {}): Promise<this> {
    const { backend, ...rest } = config;
    const daemons = (this.#daemons = await ScriptedDaemons.start(hosts));
    const backends: Record<string, OllamaBackendInput> = Object.fromEntries(daemons.names.map((name) => [name, {
      kind: 'ollama' as const, url: daemons.url(name), discover: false, memory: { gpu: hosts[name].vram }, ...backend,
    }]));
    this.#dir = await mkdtemp(join(tmpdir(), 'warmgate-hosts-'));
    const file = join(this.#dir, 'config.json');
    const full: ConfigInput = { data_dir: join(this.#dir, 'data'), ...rest, log: { level: 'warn', ...rest.log }, backends };
    await writeFile(file, JSON.stringify(full, null, 2));
    try {
      const served = await serveProcess(file, { onLine: (line) => this.log.push(line) });
      this.#gateway = served.child;
      this.url = served.url;
    } catch (err) {
      throw new Error(`${(err as Error).message}:\n${this.log.slice(-10).join('\n')}`);
    }
    return this;
  }

  /** The hosts' daemons: each one's latest, kill and restart, loads over every life. */
  get daemons(): ScriptedDaemons {
    if (!this.#daemons) throw new Error('the hosts are not started');
    return this.#daemons;
  }

  /** The daemon of host `name` (after a restart, the new one). */
  daemon(name: string): FakeOllama {
    return this.daemons.daemon(name);
  }

  /** Every host's name, in the config's order. */
  get names(): string[] {
    return this.daemons.names;
  }

  /** Loads each host's daemon made, by host (reloads included). */
  loadsOf(model: string): Record<string, number> {
    return Object.fromEntries(this.names.map((name) => [name, this.daemon(name).loadCount(model)]));
  }

  /** From now on every host's streamed replies wait, line by line, at the host's own gate (`gate`). */
  holdStreams(): void {
    for (const name of this.names) this.daemon(name).streamGate ??= new Turnstile();
  }

  gate(name: string): Turnstile {
    const gate = this.daemon(name).streamGate;
    if (!gate) throw new Error(`host ${name} holds no streams (holdStreams first)`);
    return gate;
  }

  /**
   * Starts a stream (`open` resolves once its first piece is read) wherever the gateway
   * places it, and lets its first line through there: resolves with that host and what
   * `open` resolved with. Streams already held on that host move on by a line each (FIFO
   * gate), so replies must be longer than the lines let through. A stream refused before it
   * reaches a daemon rejects with its error.
   */
  async firstOnHost<T>(open: () => Promise<T>): Promise<{ host: string; value: T }> {
    const before = new Map(this.names.map((name) => [name, this.gate(name).blocked]));
    let refused = false;
    const pending = open();
    pending.catch(() => (refused = true));
    const arrived = () => this.names.find((name) => this.gate(name).blocked > before.get(name)!);
    const host = await until(async () => arrived(), (h) => h !== undefined || refused);
    if (host) this.gate(host).allow(this.gate(host).blocked);
    return { host: host!, value: await pending };
  }

  /** The host dies: held loads and streams are let go, every connection destroyed, and the port refuses from now on. */
  kill(name: string): Promise<void> {
    return this.daemons.kill(name);
  }

  /** The host is back on its old port, as after a reboot: the same models pulled, none loaded. */
  restart(name: string): Promise<FakeOllama> {
    return this.daemons.restart(name);
  }

  /** Kills the gateway (SIGKILL: a test does not wait for its drain), then closes the daemons. */
  async close(): Promise<void> {
    if (this.#gateway) await killed(this.#gateway);
    await this.#daemons?.close();
    if (this.#dir) await rm(this.#dir, { recursive: true, force: true });
    this.#gateway = this.#dir = this.#daemons = undefined;
    this.log.length = 0;
    this.url = '';
  }
}

/**
 * The status entries of `model` (`M@host` for a model with several hosts, or `M`), keyed by
 * host (the bare name's entry under '').
 */
export function entriesOf(status: GatewayStatus, model: string): Record<string, GatewayStatus['models'][number]> {
  return Object.fromEntries(status.models.flatMap((m) => {
    if (m.name === model) return [['', m]];
    return m.name.startsWith(`${model}@`) ? [[m.name.slice(model.length + 1), m]] : [];
  }));
}

/** Requests queued for `model` on all of its hosts together. */
export function queuedFor(status: GatewayStatus, model: string): number {
  return Object.values(entriesOf(status, model)).reduce((n, m) => n + m.queued, 0);
}

/** A whole (not streamed) chat with the real `ollama` client. */
export function ask(url: string, model: string, text: string): Promise<ChatResponse> {
  return new Ollama({ host: url }).chat({ model, messages: [{ role: 'user', content: text }], stream: false });
}

/** An Ollama stream read to its first piece; `rest()` reads on to the end: the pieces, and the error the client threw if it did. */
export interface OpenStream {
  first: ChatResponse;
  rest(): Promise<{ parts: ChatResponse[]; error?: Error }>;
}

/** A streamed chat with the real `ollama` client, opened and read to its first piece. */
export async function ollamaStream(url: string, model: string, text: string): Promise<OpenStream> {
  const parts = (await new Ollama({ host: url }).chat({ model, messages: [{ role: 'user', content: text }], stream: true }))[Symbol.asyncIterator]();
  const first = await parts.next();
  if (first.done) throw new Error('the stream ended before its first piece');
  return {
    first: first.value,
    rest: async () => {
      const read: ChatResponse[] = [];
      try {
        for (let r = await parts.next(); !r.done; r = await parts.next()) read.push(r.value);
        return { parts: read };
      } catch (error) {
        return { parts: read, error: error as Error };
      }
    },
  };
}
