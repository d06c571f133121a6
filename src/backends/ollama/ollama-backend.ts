import type { Backend, CatalogModel, RawCall, RunningModel, UpstreamReply } from '../backend.js';
import type { EmbedRequest, EmbedResult, GenerateEvent, GenerateRequest } from '../../dialects/canonical.js';
import { canonicalEmbedToOllamaBody, canonicalToOllamaBody, ollamaObjectToEvents } from '../../dialects/ollama.js';
import { ndjsonObjects } from '../../dialects/ndjson.js';
import { WarmgateError } from '../../errors.js';
import type { ModelEntry } from '../../models/model-entry.js';
import type { Pins } from '../../models/pins.js';
import { readText, upstreamStatusError, UpstreamPool } from '../../proxy/upstream-pool.js';

export interface OllamaBackendOptions {
  url: string;
  pins: Pins;
  firstByteTimeoutMs: number;
}

/**
 * An Ollama daemon. Every call it makes carries the model's pinned load options and
 * keep-alive, so the daemon never reloads a model because two clients disagree on
 * `num_ctx`. Load = empty generate/embed (Ollama's preload); unload = `keep_alive: 0`.
 */
export class OllamaBackend implements Backend {
  readonly kind = 'ollama' as const;
  readonly dialect = 'ollama' as const;
  readonly managed = true;
  readonly name: string;
  readonly #pool: UpstreamPool;
  readonly #pins: Pins;
  /** Model type learnt from `/api/show` capabilities: preload and unload go through the matching endpoint. */
  readonly #types = new Map<string, 'chat' | 'embedding'>();

  constructor(name: string, opts: OllamaBackendOptions) {
    this.name = name;
    this.#pins = opts.pins;
    this.#pool = new UpstreamPool(opts.url, { backend: name, firstByteTimeoutMs: opts.firstByteTimeoutMs });
  }

  call(req: RawCall): Promise<UpstreamReply> {
    return this.#pool.request(req);
  }

  async *generate(model: ModelEntry, req: GenerateRequest, signal: AbortSignal): AsyncIterable<GenerateEvent> {
    const body = canonicalToOllamaBody(req, {
      model: model.upstream,
      options: this.#pins.loadOptions(model),
      keep_alive: this.#pins.keepAlive(model, undefined).keep_alive,
    });
    const res = await this.#pool.request({ method: 'POST', path: req.kind === 'chat' ? '/api/chat' : '/api/generate', body, signal });
    if (res.status >= 400) throw upstreamStatusError(res.status, await readText(res.body), this.name);
    try {
      for await (const obj of ndjsonObjects(res.body)) yield* ollamaObjectToEvents(obj);
    } catch (err) {
      // The daemon dropped the connection mid-reply (it died or restarted): say so, with the
      // same code a process backend's crash carries, rather than undici's "other side closed".
      if (!signal.aborted && (err as { code?: string }).code === 'UND_ERR_SOCKET') {
        throw new WarmgateError('BACKEND_CRASHED', `Ollama backend ${this.name} closed the connection in the middle of the reply for ${model.upstream} (the daemon crashed or restarted)`, { cause: err });
      }
      throw err;
    }
  }

  async embed(model: ModelEntry, req: EmbedRequest, signal: AbortSignal): Promise<EmbedResult> {
    const body = canonicalEmbedToOllamaBody(req, {
      model: model.upstream,
      options: this.#pins.loadOptions(model),
      keep_alive: this.#pins.keepAlive(model, undefined).keep_alive,
    });
    const reply = await this.#pool.json<{ embeddings: number[][]; prompt_eval_count?: number; load_duration?: number; total_duration?: number }>(
      { method: 'POST', path: '/api/embed', body, signal },
    );
    return {
      embeddings: reply.embeddings,
      promptTokens: reply.prompt_eval_count ?? 0,
      timings: { loadMs: nsToMs(reply.load_duration), totalMs: nsToMs(reply.total_duration) },
    };
  }

  async load(model: ModelEntry, opts: { signal: AbortSignal }): Promise<{ measured?: { ram: number; gpu: number } }> {
    await this.#residencyCall(model, this.#pins.keepAlive(model, undefined).keep_alive, opts.signal);
    const running = (await this.running()).find((m) => m.name === model.upstream || m.model === model.upstream);
    if (!running) return {};
    return { measured: { gpu: running.size_vram, ram: Math.max(0, running.size - running.size_vram) } };
  }

  async unload(model: ModelEntry): Promise<void> {
    await this.#residencyCall(model, 0);
  }

  async catalog(): Promise<CatalogModel[]> {
    return (await this.#pool.json<{ models: CatalogModel[] }>({ method: 'GET', path: '/api/tags' })).models ?? [];
  }

  async running(): Promise<RunningModel[]> {
    return (await this.#pool.json<{ models: RunningModel[] }>({ method: 'GET', path: '/api/ps' })).models ?? [];
  }

  async show(model: ModelEntry): Promise<Record<string, unknown>> {
    const info = await this.#pool.json({ method: 'POST', path: '/api/show', body: { model: model.upstream } });
    const caps = Array.isArray(info.capabilities) ? (info.capabilities as string[]) : [];
    this.#types.set(model.upstream, caps.includes('embedding') && !caps.includes('completion') ? 'embedding' : 'chat');
    return info;
  }

  close(): Promise<void> {
    return this.#pool.close();
  }

  /** Ollama's preload/unload: an empty request through the endpoint the model supports. */
  async #residencyCall(model: ModelEntry, keepAlive: number | string, signal?: AbortSignal): Promise<void> {
    const type = model.type ?? this.#types.get(model.upstream) ?? (await this.#typeOf(model));
    const options = this.#pins.loadOptions(model);
    const call: RawCall = type === 'embedding'
      ? { method: 'POST', path: '/api/embed', body: { model: model.upstream, input: [], options, keep_alive: keepAlive }, signal }
      : { method: 'POST', path: '/api/generate', body: { model: model.upstream, prompt: '', options, keep_alive: keepAlive, stream: false }, signal };
    await this.#pool.json(call);
  }

  async #typeOf(model: ModelEntry): Promise<'chat' | 'embedding'> {
    await this.show(model);
    return this.#types.get(model.upstream) ?? 'chat';
  }
}

function nsToMs(ns: number | undefined): number | undefined {
  return ns === undefined ? undefined : ns / 1e6;
}
