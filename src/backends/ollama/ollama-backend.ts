import { cutMidReply, reportedMemory, runsUpstream, type BackendModel, type CatalogModel, type LoadResult, type ManagedBackend, type RunningModel } from '../backend.js';
import type { EmbedRequest, EmbedResult, GenerateEvent, GenerateRequest } from '../../dialects/canonical.js';
import { canonicalEmbedToOllamaBody, canonicalToOllamaBody, ollamaEmbedToResult, ollamaModelType, ollamaObjectToEvents, type OllamaPins } from '../../dialects/ollama.js';
import { ndjsonObjects } from '../../dialects/ndjson.js';
import { isWarmgateError, WarmgateError } from '../../errors.js';
import type { Footprint } from '../../scheduler/index.js';
import type { BreakerSettings, CircuitBreaker } from '../../upstream/circuit-breaker.js';
import { readText, upstreamStatusError, UpstreamPool, type RawCall, type UpstreamReply, type UpstreamTimeouts } from '../../upstream/upstream-pool.js';
import { displacedBy, OllamaDomain } from './ollama-domain.js';

export interface OllamaBackendOptions {
  url: string;
  /** The model's pinned load options and keep-alive policy, which every call carries. */
  pins: (model: BackendModel) => Omit<OllamaPins, 'model'>;
  timeouts: UpstreamTimeouts;
  /** The daemon's capacity where configured (`backends.X.memory`); what is not configured is learned. */
  memory: { gpu?: number; ram?: number };
  /** Sent on every call to the daemon (`backends.X.headers`). */
  headers?: Record<string, string>;
  /** Take the daemon out when it stops answering (`backends.X.breaker`), probing `GET probePath` (default `/api/version`). */
  breaker?: BreakerSettings;
  probePath?: string;
}

/**
 * An Ollama daemon. Every call it makes carries the model's pinned load options and
 * keep-alive, so the daemon never reloads a model because two clients disagree on
 * `num_ctx`, and expires idle models itself. Load = empty generate/embed (Ollama's
 * preload); unload = `keep_alive: 0`. Besides the per-model verbs it answers the
 * daemon's own management API (`call`: pull, copy, blobs, version).
 */
export class OllamaBackend implements ManagedBackend {
  readonly kind = 'ollama' as const;
  readonly dialect = 'ollama' as const;
  readonly managed = true;
  readonly takesLoadOptions = true;
  readonly pinsItself = false;
  readonly expiresIdleModels = true;
  readonly domain: OllamaDomain;
  readonly name: string;
  readonly breaker: CircuitBreaker | undefined;
  readonly #pool: UpstreamPool;
  readonly #pins: (model: BackendModel) => Omit<OllamaPins, 'model'>;
  readonly #lost: Array<(model: string, message: string) => void> = [];
  /** Model type learnt from `/api/show` capabilities: preload and unload go through the matching endpoint. */
  readonly #types = new Map<string, 'chat' | 'embedding'>();

  constructor(name: string, opts: OllamaBackendOptions) {
    this.name = name;
    this.#pins = opts.pins;
    this.#pool = new UpstreamPool(opts.url, {
      backend: name, timeouts: opts.timeouts, headers: opts.headers,
      breaker: opts.breaker && { settings: opts.breaker, probePath: opts.probePath ?? '/api/version' },
    });
    this.breaker = this.#pool.breaker;
    this.domain = new OllamaDomain(name, opts.memory);
  }

  /** A call to the daemon's own API, for no model in particular (management routes). A deleted model's learned facts go. */
  async call(req: RawCall): Promise<UpstreamReply> {
    const reply = await this.#reach(this.#pool.request(req));
    const deleted = req.method === 'DELETE' && req.path === '/api/delete' && reply.status === 200 && nameIn(req.body);
    if (deleted) this.domain.forget(deleted);
    return reply;
  }

  /**
   * A passthrough body's load options are the pins as they are now, not as they were when
   * the request was prepared: a context that grew while it queued must not be sent smaller.
   */
  forward(model: BackendModel, call: RawCall): Promise<UpstreamReply> {
    const body = call.body as { options?: Record<string, unknown> | null } | undefined;
    const sent = body?.options;
    const now = typeof sent === 'object' && sent !== null ? this.#pins(model).options : undefined;
    // Almost always the body carries them already (they changed only if a context grew meanwhile): no copy then.
    const current = !now || Object.keys(now).every((key) => sent![key] === now[key]);
    return this.#reach(this.#pool.request(current ? call : { ...call, body: { ...body, options: { ...sent, ...now } } }));
  }

  async *generate(model: BackendModel, req: GenerateRequest, signal: AbortSignal): AsyncIterable<GenerateEvent> {
    const body = canonicalToOllamaBody(req, { model: model.upstream, ...this.#pins(model) });
    const res = await this.#reach(this.#pool.request({ method: 'POST', path: req.kind === 'chat' ? '/api/chat' : '/api/generate', body, signal }));
    if (res.status >= 400) throw upstreamStatusError(res.status, await readText(res.body), this.name);
    try {
      for await (const obj of ndjsonObjects(res.body)) yield* ollamaObjectToEvents(obj);
    } catch (err) {
      throw this.brokenReply(model, err, signal) ?? err;
    }
  }

  /**
   * The daemon dropped the connection mid-reply (it died or restarted): said so, with the
   * same code a process backend's crash carries, rather than undici's "other side closed".
   * A daemon that restarted holds nothing: the model must load again, and what was learned
   * about its memory may be about another daemon.
   */
  brokenReply(model: BackendModel, err: unknown, signal: AbortSignal): WarmgateError | undefined {
    if (!cutMidReply(err, signal)) return undefined;
    const message = `Ollama backend ${this.name} closed the connection in the middle of the reply for ${model.upstream} (the daemon crashed or restarted)`;
    for (const listener of this.#lost) listener(model.name, message);
    this.domain.forget(undefined);
    return new WarmgateError('BACKEND_CRASHED', message, { cause: err });
  }

  async embed(model: BackendModel, req: EmbedRequest, signal: AbortSignal): Promise<EmbedResult> {
    const body = canonicalEmbedToOllamaBody(req, { model: model.upstream, ...this.#pins(model) });
    return ollamaEmbedToResult(await this.#reach(this.#pool.json({ method: 'POST', path: '/api/embed', body, signal })));
  }

  /** In the daemon's own pools: the size it lists, plus its KV cache and buffers (until `/api/ps` shows it loaded). */
  async estimate(model: BackendModel): Promise<Footprint> {
    const listed = (await this.catalog()).find((m) => runsUpstream(m, model.upstream));
    return this.domain.footprint(listed?.size ?? 0);
  }

  /**
   * Preloads, then reads `/api/ps`: the model's real size, and which models the daemon
   * unloaded to make room (compared with `/api/ps` just before; a list it could not give
   * then teaches nothing, and fails no load).
   */
  async load(model: BackendModel, opts: { signal: AbortSignal }): Promise<LoadResult> {
    const before = await this.running().catch(() => undefined);
    await this.#residencyCall(model, this.#pins(model).keep_alive, opts.signal);
    const after = await this.running();
    const running = after.find((m) => runsUpstream(m, model.upstream));
    return { measured: running && reportedMemory(running), displaced: before && displacedBy(model.upstream, before, after) };
  }

  async unload(model: BackendModel): Promise<void> {
    await this.#residencyCall(model, 0);
  }

  onLost(listener: (model: string, message: string) => void): void {
    this.#lost.push(listener);
  }

  async catalog(): Promise<CatalogModel[]> {
    return (await this.#pool.json<{ models: CatalogModel[] }>({ method: 'GET', path: '/api/tags' })).models ?? [];
  }

  async running(): Promise<RunningModel[]> {
    return (await this.#reach(this.#pool.json<{ models: RunningModel[] }>({ method: 'GET', path: '/api/ps' }))).models ?? [];
  }

  async show(model: BackendModel): Promise<Record<string, unknown>> {
    const info = await this.#pool.json({ method: 'POST', path: '/api/show', body: { model: model.upstream } });
    this.#types.set(model.upstream, ollamaModelType(info.capabilities));
    return info;
  }

  close(): Promise<void> {
    return this.#pool.close();
  }

  /** Ollama's preload/unload: an empty request through the endpoint the model supports. */
  async #residencyCall(model: BackendModel, keepAlive: number | string | undefined, signal?: AbortSignal): Promise<void> {
    const type = model.type ?? this.#types.get(model.upstream) ?? (await this.#typeOf(model));
    const { options } = this.#pins(model);
    const call: RawCall = type === 'embedding'
      ? { method: 'POST', path: '/api/embed', body: { model: model.upstream, input: [], options, keep_alive: keepAlive }, signal }
      : { method: 'POST', path: '/api/generate', body: { model: model.upstream, prompt: '', options, keep_alive: keepAlive, stream: false }, signal };
    await this.#reach(this.#pool.json(call));
  }

  /** A daemon that cannot be reached may come back as another process: what was learned about its memory goes. */
  async #reach<T>(call: Promise<T>): Promise<T> {
    try {
      return await call;
    } catch (err) {
      if (isWarmgateError(err) && err.code === 'WG_UPSTREAM_UNREACHABLE') this.domain.forget(undefined);
      throw err;
    }
  }

  async #typeOf(model: BackendModel): Promise<'chat' | 'embedding'> {
    await this.show(model);
    return this.#types.get(model.upstream) ?? 'chat';
  }
}

/** The model a management call names (`model`, or the older `name`). */
function nameIn(body: unknown): string | undefined {
  const { model, name } = (body ?? {}) as { model?: unknown; name?: unknown };
  const value = model ?? name;
  return typeof value === 'string' && value !== '' ? value : undefined;
}
