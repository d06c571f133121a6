import type { Logger } from 'pino';
import type { Backend } from '../backends/backend.js';
import type { Config } from '../config/schema.js';
import type { EmbedRequest, EmbedResult, GenerateEvent, GenerateRequest } from '../dialects/canonical.js';
import { WarmgateError } from '../errors.js';
import type { ModelEntry } from '../models/model-entry.js';
import type { Pins } from '../models/pins.js';
import type { ModelRegistry } from '../models/registry.js';
import type { Lease, Residency } from '../residency/residency.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { round, type RequestTimer } from '../telemetry/timer.js';
import type { EmbedService } from './embed-service.js';

export interface GatewayParts {
  config: Config;
  log: Logger;
  backends: Map<string, Backend>;
  registry: ModelRegistry;
  pins: Pins;
  residency: Residency;
  telemetry: Telemetry;
  embeddings: EmbedService;
}

/**
 * The dialect-independent request path: resolve the model, wait for residency, call the
 * backend, and account for where the time went. HTTP routes parse and render around it.
 */
export class Gateway {
  readonly parts: GatewayParts;

  constructor(parts: GatewayParts) {
    this.parts = parts;
  }

  async resolve(name: unknown, timer: RequestTimer): Promise<ModelEntry> {
    if (typeof name !== 'string' || name === '') throw new WarmgateError('BAD_REQUEST', 'model is required');
    const entry = await this.parts.registry.resolve(name);
    if (!entry) throw new WarmgateError('MODEL_NOT_FOUND', `model "${name}" not found`);
    timer.record.model = entry.name;
    timer.record.backend = entry.backend.name;
    return entry;
  }

  /** The model's type; for discovered models learnt once from the backend's `/api/show` capabilities. */
  async typeOf(entry: ModelEntry): Promise<'chat' | 'embedding'> {
    if (!entry.type) {
      const caps = (await entry.backend.show(entry)).capabilities;
      entry.type = Array.isArray(caps) && caps.includes('embedding') && !caps.includes('completion') ? 'embedding' : 'chat';
    }
    return entry.type;
  }

  /** Waits until the model is resident with a free slot; queue and load time land on the record. */
  async acquire(entry: ModelEntry, timer: RequestTimer, signal: AbortSignal): Promise<Lease> {
    const lease = await this.parts.residency.acquire(entry, signal);
    timer.record.queue_ms = round(lease.queueMs);
    timer.record.load_ms = round(lease.loadMs);
    return lease;
  }

  /**
   * Starts a generation and waits for its first event, so a failure before any output
   * (queue full, upstream 4xx/5xx, unreachable) is thrown here and can still set the HTTP
   * status. The returned iterable replays that event, then the rest, releasing the lease at the end.
   */
  async generate(entry: ModelEntry, req: GenerateRequest, timer: RequestTimer, signal: AbortSignal): Promise<AsyncIterable<GenerateEvent>> {
    const lease = await this.acquire(entry, timer, signal);
    const it = entry.backend.generate(entry, req, signal)[Symbol.asyncIterator]();
    let first: IteratorResult<GenerateEvent>;
    try {
      first = await it.next();
    } catch (err) {
      lease.release();
      throw err;
    }
    return (async function* () {
      try {
        for (let r = first; !r.done; r = await it.next()) {
          noteEvent(timer, r.value);
          yield r.value;
        }
      } finally {
        lease.release();
        await it.return?.();
      }
    })();
  }

  async embed(entry: ModelEntry, req: EmbedRequest, timer: RequestTimer, signal: AbortSignal): Promise<EmbedResult> {
    return this.parts.embeddings.embed(entry, req, timer, signal);
  }
}

/** Fills the record from a canonical event: first token, then the backend's own figures. */
export function noteEvent(timer: RequestTimer, ev: GenerateEvent): void {
  if (ev.type === 'delta') {
    if (ev.content || ev.thinking || ev.toolCalls) timer.firstToken();
    return;
  }
  const r = timer.record;
  r.prompt_tokens = ev.usage.promptTokens;
  r.gen_tokens = ev.usage.completionTokens;
  if (ev.timings.promptMs !== undefined) r.prompt_ms = round(ev.timings.promptMs);
  if (ev.timings.genMs !== undefined) r.gen_ms = round(ev.timings.genMs);
  if (ev.timings.loadMs) r.load_ms = round(r.load_ms + ev.timings.loadMs);
}
