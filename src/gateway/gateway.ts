import type { Readable } from 'node:stream';
import type { Config } from '../config/schema.js';
import { keepAliveSeconds } from '../config/units.js';
import type { EmbedRequest, EmbedResult, GenerateEvent, GenerateRequest } from '../dialects/canonical.js';
import { ollamaModelType } from '../dialects/ollama.js';
import { modelNotFound, WarmgateError } from '../errors.js';
import { estimateTokens, promptTexts } from '../models/context-pin.js';
import type { ModelEntry } from '../models/model-entry.js';
import type { Pins } from '../models/pins.js';
import type { ModelRegistry } from '../models/registry.js';
import type { Lease, Residency } from '../residency/residency.js';
import type { Dialect } from '../telemetry/record.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import type { RequestTimer } from '../telemetry/timer.js';
import { readText, upstreamStatusError, type RawCall, type UpstreamReply } from '../upstream/upstream-pool.js';
import type { Admin } from './admin.js';
import { accounted, noteEvent, noteLease, type RequestScope } from './accounting.js';
import type { Catalog } from './catalog.js';
import type { DaemonApi } from './daemon-api.js';
import type { EmbedService } from './embed-service.js';
import { onSomeHost } from './host-call.js';

// What the routes need from below, so gateway/ is their one door.
export type { ModelEntry } from '../models/model-entry.js';
export type { Dialect } from '../telemetry/record.js';
export { serverTiming, type RequestTimer } from '../telemetry/timer.js';
export type { RequestScope } from './accounting.js';

export interface GatewayParts {
  config: Config;
  registry: ModelRegistry;
  pins: Pins;
  residency: Residency;
  telemetry: Telemetry;
  embeddings: EmbedService;
  catalog: Catalog;
  daemons: DaemonApi;
  admin: Admin;
}

/** How a streamed passthrough reply is read: its pieces, and the canonical events each one carries for the record. */
export interface StreamTap<T> {
  read(body: Readable): AsyncIterable<T>;
  events(piece: T): Iterable<GenerateEvent>;
}

/** How a whole passthrough reply is read. */
export interface WholeTap<T> {
  parse(text: string): T;
  events?(reply: T): Iterable<GenerateEvent>;
  /** Pass an upstream error status on as a reply instead of throwing it. */
  passErrors?: boolean;
}

/** A request's load options and keep-alive after pinning. */
export interface Prepared {
  options: Record<string, unknown>;
  /** Undefined: none sent (a backend that pins itself, to which the client sent none). */
  keep_alive: number | string | undefined;
  /** The client asked to unload (`keep_alive: 0`) ... */
  askedUnload: boolean;
  /** ... and the model allows it. */
  unload: boolean;
}

/**
 * gateway/ owns the dialect-independent request path: resolve the model, pin its options,
 * wait for residency, call the backend, and account for where the time went. Every call
 * to a backend goes through a verb here, which acquires the lease, calls, notes the record
 * and releases on every exit (done, failed, cancelled). HTTP routes parse and render
 * around it. It may import residency/, backends/, models/, batching/, telemetry/,
 * dialects/ and upstream/; never http/ or app/.
 */
export class Gateway {
  readonly #parts: GatewayParts;
  /** The merged model lists (`/api/tags`, `/api/ps`, `/v1/models`). */
  readonly catalog: Catalog;
  /** The Ollama daemons' own API: version, pull/push/create/copy/delete, blobs. */
  readonly daemons: DaemonApi;
  /** The gateway's own surface: status, records, metrics, residency control. */
  readonly admin: Admin;

  constructor(parts: GatewayParts) {
    this.#parts = parts;
    this.catalog = parts.catalog;
    this.daemons = parts.daemons;
    this.admin = parts.admin;
  }

  /** The config in force: the one it started with, or the last reload's. */
  get config(): Config {
    return this.#parts.config;
  }

  /** A reload applied `config` (the models were reconfigured before): what the next request reads. */
  reconfigure(config: Config): void {
    this.#parts.config = config;
  }

  /** A new request's record. */
  record(dialect: Dialect, route: string): RequestTimer {
    return this.#parts.telemetry.start(dialect, route);
  }

  /**
   * The entry for a name; not found is Ollama's 404, unless a discovering backend cannot be
   * read: then the name may well be its, and the answer is that backend's 502.
   */
  async resolve(name: unknown, record: RequestTimer): Promise<ModelEntry> {
    if (typeof name !== 'string' || name === '') throw new WarmgateError('BAD_REQUEST', 'model is required');
    const entry = await this.#parts.registry.resolve(name);
    if (!entry) throw this.#parts.registry.unreachable()[0]?.error ?? modelNotFound(name);
    record.record.model = entry.name;
    record.record.backend = entry.backend.name;
    return entry;
  }

  /** The named model, or with no name the only served model of type `want`. */
  async resolveOrOnly(name: unknown, want: 'chat' | 'embedding', record: RequestTimer): Promise<ModelEntry> {
    if (typeof name === 'string' && name !== '') return this.resolve(name, record);
    const all = await this.#parts.registry.list();
    const types = await Promise.all(all.map((e) => this.typeOf(e).catch(() => undefined)));
    const candidates = all.filter((_, i) => types[i] === want);
    if (candidates.length !== 1) {
      throw new WarmgateError('BAD_REQUEST', `name the model with "model" in the body or ?model=; ${candidates.length} ${want} models could serve this request`);
    }
    return this.resolve(candidates[0].name, record);
  }

  /** The model's type; for discovered models learnt once from the backend's `/api/show` capabilities. */
  async typeOf(entry: ModelEntry): Promise<'chat' | 'embedding'> {
    entry.type ??= ollamaModelType((await entry.backend.show(entry)).capabilities);
    return entry.type;
  }

  /** Whether the model's backend speaks `dialect` natively, so a request in it may pass through. */
  speaks(entry: ModelEntry, dialect: 'ollama' | 'llama-server'): boolean {
    return entry.backend.dialect === dialect;
  }

  /** Throws NOT_SUPPORTED unless the model's backend speaks llama-server's own API (`/tokenize`, `/props` ...). */
  requireLlamaServer(entry: ModelEntry, route: string): void {
    if (this.speaks(entry, 'llama-server')) return;
    throw new WarmgateError('NOT_SUPPORTED', `${route} needs a llama-server backend (one Warmgate runs, or an external url); ${entry.name} is served by ${entry.backend.kind} backend ${entry.backend.name}`);
  }

  /** Ollama's `/api/show` for the model. */
  show(entry: ModelEntry): Promise<Record<string, unknown>> {
    return entry.backend.show(entry);
  }

  /**
   * Pins the model's load options from what the client sent (its context grows where the
   * request needs it; the others are fixed on first use) and settles its keep-alive; every
   * replaced value is noted on the record.
   */
  prepare(entry: ModelEntry, sent: { options?: unknown; keep_alive?: unknown; messages?: unknown; prompt?: unknown; system?: unknown }, record: RequestTimer): Prepared | Promise<Prepared> {
    const { pins } = this.#parts;
    // A backend that pins itself (a remote Warmgate) gets what the client sent, for its own pins to replace.
    if (entry.backend.pinsItself) return { options: (sent.options ?? {}) as Record<string, unknown>, keep_alive: sent.keep_alive as Prepared['keep_alive'], askedUnload: false, unload: false };
    const prepared = (): Prepared => {
      const options = pins.apply(entry, sent.options as Record<string, unknown> | undefined, record);
      const askedUnload = (typeof sent.keep_alive === 'number' || typeof sent.keep_alive === 'string') && keepAliveSeconds(sent.keep_alive) === 0;
      return { options, askedUnload, ...pins.keepAlive(entry, sent.keep_alive, record) };
    };
    // Synchronous unless the model's own context limit must be asked first (once per model).
    const fitting = this.#fitContext(entry, sent.options, promptTexts(sent), record);
    return fitting ? fitting.then(prepared) : prepared();
  }

  /**
   * Starts a generation and waits for its first event, so a failure before any output
   * (queue full, upstream 4xx/5xx, unreachable) is thrown here and can still set the HTTP
   * status. The returned events replay that one, then the rest; the lease is released when they end.
   */
  async generate(entry: ModelEntry, req: GenerateRequest, scope: RequestScope): Promise<AsyncIterable<GenerateEvent>> {
    const fitting = this.#fitContext(entry, req.loadOptions, promptTexts(req), scope.record);
    if (fitting) await fitting;
    const { lease, result: [it, first] } = await this.#onSomeHost(entry, scope, async ({ entry: on }) => {
      const events = on.backend.generate(on, req, scope.signal)[Symbol.asyncIterator]();
      return [events, await events.next()] as const;
    });
    return accounted(it, first, lease, { note: (ev) => noteEvent(scope.record, ev), final: (ev) => ev.type === 'done' });
  }

  embed(entry: ModelEntry, req: EmbedRequest, scope: RequestScope): Promise<EmbedResult> {
    return this.#parts.embeddings.embed(entry, req, scope.record, scope.signal);
  }

  /**
   * Passthrough, streamed: a raw call in the backend's own dialect, to the server that
   * holds the model, under a lease held until the reply's pieces are all read (or the
   * reading stops). An error status throws, with the upstream's message; so does a reply
   * that ends before its final piece (as `generate` does).
   */
  async forward<T>(entry: ModelEntry, call: Omit<RawCall, 'signal'>, scope: RequestScope, tap: StreamTap<T>): Promise<AsyncIterable<T>> {
    const { lease, res } = await this.#forward(entry, call, scope, false);
    let done = false;
    const note = (piece: T) => {
      for (const ev of tap.events(piece)) {
        done ||= ev.type === 'done';
        noteEvent(scope.record, ev);
      }
    };
    const { entry: on } = lease;
    const failed = (err: unknown) => on.backend.brokenReply?.(on, err, scope.signal) ?? err;
    return accounted(tap.read(res.body)[Symbol.asyncIterator](), undefined, lease, { note, final: () => done, failed });
  }

  /**
   * Passthrough, whole: the reply read and parsed under the lease, its events noted. An
   * error status throws unless `passErrors` (the route answers with the upstream's status).
   */
  async forwardWhole<T>(entry: ModelEntry, call: Omit<RawCall, 'signal'>, scope: RequestScope, tap: WholeTap<T>): Promise<{ status: number; reply: T }> {
    const { lease, res } = await this.#forward(entry, call, scope, tap.passErrors ?? false);
    try {
      const reply = tap.parse(await readText(res.body));
      for (const ev of tap.events?.(reply) ?? []) noteEvent(scope.record, ev);
      return { status: res.status, reply };
    } finally {
      lease.release();
    }
  }

  /**
   * Ollama's residency-only request (no prompt, no input): unloads where the client asked
   * and the model allows it, else makes the model resident and gives the slot straight back.
   * An unload the model does not allow is ignored: it must not load the model either.
   */
  async residencyOnly(entry: ModelEntry, prepared: Prepared, scope: RequestScope): Promise<'load' | 'unload'> {
    if (prepared.unload) {
      await this.unload(entry);
      return 'unload';
    }
    if (!prepared.askedUnload) (await this.#acquire(entry, scope)).release();
    return 'load';
  }

  /** Unloads now (admin API, or a client's `keep_alive: 0` where the model allows it). */
  unload(entry: ModelEntry): Promise<void> {
    return this.#parts.residency.unload(entry);
  }

  /**
   * Grows the model's context pin where the request asks for more or its prompt needs more
   * (backends whose calls carry load options); a model loaded with the smaller one reloads.
   * A promise only while the model's own context limit is being asked for; undefined when done.
   */
  #fitContext(entry: ModelEntry, options: unknown, texts: Iterable<string>, record: RequestTimer): Promise<void> | undefined {
    if (!entry.backend.takesLoadOptions) return undefined;
    const reloadIf = (grew: boolean) => {
      if (grew) this.#parts.residency.reload(entry);
    };
    const grew = this.#parts.pins.fitContext(entry, options as Record<string, unknown> | undefined, estimateTokens(texts), record);
    if (typeof grew !== 'boolean') return grew.then(reloadIf);
    reloadIf(grew);
    return undefined;
  }

  async #forward(entry: ModelEntry, call: Omit<RawCall, 'signal'>, scope: RequestScope, passErrors: boolean): Promise<{ lease: Lease; res: UpstreamReply }> {
    const { lease, result: res } = await this.#onSomeHost(entry, scope, async ({ entry: on }) => {
      const reply = await on.backend.forward(on, { ...call, signal: scope.signal });
      if (reply.status >= 400 && !passErrors) throw upstreamStatusError(reply.status, await readText(reply.body), on.backend.name);
      return reply;
    });
    return { lease, res };
  }

  async #acquire(entry: ModelEntry, scope: RequestScope): Promise<Lease> {
    const lease = await this.#parts.residency.acquire(entry, scope.signal);
    noteLease(scope.record, lease);
    return lease;
  }

  /** `call` under a lease, on another host where the first cannot be reached; each lease is noted on the record. */
  #onSomeHost<T>(entry: ModelEntry, scope: RequestScope, call: (lease: Lease) => Promise<T>): Promise<{ lease: Lease; result: T }> {
    return onSomeHost(this.#parts.residency, entry, scope.signal, call, (lease) => noteLease(scope.record, lease));
  }
}
