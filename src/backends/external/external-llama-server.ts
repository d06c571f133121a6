import type { Backend, BackendModel, CatalogModel, RunningModel } from '../backend.js';
import type { EmbedRequest, EmbedResult, GenerateEvent, GenerateRequest } from '../../dialects/canonical.js';
import type { BreakerSettings, CircuitBreaker } from '../../upstream/circuit-breaker.js';
import { UpstreamPool, type RawCall, type UpstreamReply, type UpstreamTimeouts } from '../../upstream/upstream-pool.js';
import { llamaServerEmbed, llamaServerGenerate } from '../llama-server-client.js';
import { catalogEntry, showBody } from '../process/model-card.js';

/** What an external llama-server says about itself (`GET /props`). */
interface Props {
  default_generation_settings?: { n_ctx?: number };
  model_path?: string;
}

/** Ollama's `expires_at` for a model that stays (the server is not ours to unload). */
const FOREVER = '2318-01-01T00:00:00Z';

/**
 * A llama-server Warmgate does not run (`url` in config): it cannot load or unload it, so it
 * is unmanaged — requests go straight through, and its memory is not in the ledger. Its
 * models are the ones the config puts on it; a `file` there lets the gateway describe them
 * from the GGUF, otherwise `/props` does.
 */
export class ExternalLlamaServerBackend implements Backend {
  readonly kind = 'llama-server' as const;
  readonly dialect = 'llama-server' as const;
  readonly managed = false;
  readonly takesLoadOptions = false;
  readonly pinsItself = false;
  readonly name: string;
  readonly breaker: CircuitBreaker | undefined;
  readonly #pool: UpstreamPool;
  readonly #models: () => BackendModel[];

  /**
   * `models`: the models the config puts on it (read when listed: the registry is built after
   * the backends); `breaker`: take it out when it stops answering, probing `GET /health`.
   */
  constructor(name: string, opts: { url: string; timeouts: UpstreamTimeouts; models: () => BackendModel[]; breaker?: BreakerSettings }) {
    this.name = name;
    this.#models = opts.models;
    this.#pool = new UpstreamPool(opts.url, { backend: name, timeouts: opts.timeouts, breaker: opts.breaker && { settings: opts.breaker, probePath: '/health' } });
    this.breaker = this.#pool.breaker;
  }

  forward(_model: BackendModel, call: RawCall): Promise<UpstreamReply> {
    return this.#pool.request(call);
  }

  generate(entry: BackendModel, req: GenerateRequest, signal: AbortSignal): AsyncIterable<GenerateEvent> {
    return llamaServerGenerate(this.#pool, this.name, req, signal);
  }

  embed(entry: BackendModel, req: EmbedRequest, signal: AbortSignal): Promise<EmbedResult> {
    return llamaServerEmbed(this.#pool, entry.upstream, req, signal);
  }

  async catalog(): Promise<CatalogModel[]> {
    return Promise.all(this.#models().map(async (e) => (e.config.file ? catalogEntry(e) : this.#bare(e))));
  }

  /** Every model on it while the server answers `/health`: it is always resident. */
  async running(): Promise<RunningModel[]> {
    const health = await this.#pool.request({ method: 'GET', path: '/health' });
    health.body.resume();
    if (health.status !== 200) return [];
    const ctx = (await this.#props()).default_generation_settings?.n_ctx;
    return (await this.catalog()).map((m) => ({ ...m, expires_at: FOREVER, size_vram: 0, context_length: ctx }));
  }

  async show(entry: BackendModel): Promise<Record<string, unknown>> {
    if (entry.config.file) return showBody(entry);
    const props = await this.#props();
    return {
      license: '', modelfile: '', parameters: '', template: '',
      details: (await this.#bare(entry)).details,
      model_info: { 'general.architecture': 'llama', 'llama.context_length': props.default_generation_settings?.n_ctx },
      capabilities: entry.type === 'embedding' ? ['embedding'] : ['completion'],
    };
  }

  close(): Promise<void> {
    return this.#pool.close();
  }

  #props(): Promise<Props> {
    return this.#pool.json<Props>({ method: 'GET', path: '/props' });
  }

  async #bare(entry: BackendModel): Promise<CatalogModel> {
    return {
      name: entry.name, model: entry.name, modified_at: new Date(0).toISOString(), size: 0, digest: '',
      details: { format: 'gguf', family: 'llama', parameter_size: '', quantization_level: '' },
    };
  }
}
