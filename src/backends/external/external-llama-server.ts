import type { Backend, CatalogModel, RawCall, RunningModel, UpstreamReply } from '../backend.js';
import type { EmbedRequest, EmbedResult, GenerateEvent, GenerateRequest } from '../../dialects/canonical.js';
import { WarmgateError } from '../../errors.js';
import type { ModelEntry } from '../../models/model-entry.js';
import { UpstreamPool } from '../../proxy/upstream-pool.js';
import { llamaServerEmbed, llamaServerGenerate, type NativeLlamaBackend } from '../llama-server-client.js';
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
export class ExternalLlamaServerBackend implements Backend, NativeLlamaBackend {
  readonly kind = 'llama-server' as const;
  readonly dialect = 'llama-server' as const;
  readonly managed = false;
  readonly name: string;
  readonly #pool: UpstreamPool;
  #models: () => ModelEntry[] = () => [];

  constructor(name: string, opts: { url: string; firstByteTimeoutMs: number }) {
    this.name = name;
    this.#pool = new UpstreamPool(opts.url, { backend: name, firstByteTimeoutMs: opts.firstByteTimeoutMs });
  }

  attach(models: () => ModelEntry[]): void {
    this.#models = models;
  }

  call(req: RawCall): Promise<UpstreamReply> {
    return this.#pool.request(req);
  }

  callModel(_entry: ModelEntry, req: RawCall): Promise<UpstreamReply> {
    return this.#pool.request(req);
  }

  generate(entry: ModelEntry, req: GenerateRequest, signal: AbortSignal): AsyncIterable<GenerateEvent> {
    return llamaServerGenerate(this.#pool, this.name, req, signal);
  }

  embed(entry: ModelEntry, req: EmbedRequest, signal: AbortSignal): Promise<EmbedResult> {
    return llamaServerEmbed(this.#pool, entry.upstream, req, signal);
  }

  async load(): Promise<{ measured?: undefined }> {
    throw this.#unmanaged('load');
  }

  async unload(): Promise<void> {
    throw this.#unmanaged('unload');
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

  async show(entry: ModelEntry): Promise<Record<string, unknown>> {
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

  async #bare(entry: ModelEntry): Promise<CatalogModel> {
    return {
      name: entry.name, model: entry.name, modified_at: new Date(0).toISOString(), size: 0, digest: '',
      details: { format: 'gguf', family: 'llama', parameter_size: '', quantization_level: '' },
    };
  }

  #unmanaged(action: string): WarmgateError {
    return new WarmgateError('NOT_SUPPORTED', `backend ${this.name} is a llama-server Warmgate does not run (url): it cannot ${action} models`);
  }
}
