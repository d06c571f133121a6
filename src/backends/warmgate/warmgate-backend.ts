import { cutMidReply, type Backend, type BackendModel, type CatalogModel, type HostStatus, type RunningModel } from '../backend.js';
import type { EmbedRequest, EmbedResult, GenerateEvent, GenerateRequest } from '../../dialects/canonical.js';
import { isWarmgateError, WarmgateError } from '../../errors.js';
import type { BreakerSettings, CircuitBreaker } from '../../upstream/circuit-breaker.js';
import { readText, upstreamStatusError, type RawCall, type UpstreamReply, type UpstreamTimeouts } from '../../upstream/upstream-pool.js';
import { OllamaBackend } from '../ollama/ollama-backend.js';

/** The longest a status read waits for the remote: a host that does not answer is reported as such, not waited for. */
const HOST_STATUS_TIMEOUT_MS = 2_000;


export interface WarmgateBackendOptions {
  url: string;
  /** An inference key of the remote (`backends.X.api_key`), sent as a Bearer token on every call. */
  apiKey?: string;
  timeouts: UpstreamTimeouts;
  /** Take the host out when it stops answering (`backends.X.breaker`), probing its `GET /warmgate/health`. */
  breaker?: BreakerSettings;
}

/**
 * A remote Warmgate (one per GPU host, this gateway in front). It speaks Ollama's API, so
 * the calls are an Ollama backend's (passthrough, translation, catalog), with its key on
 * each. What differs is who owns the memory: the remote keeps its models resident,
 * schedules its loads and pins their options and keep-alive. So this backend is not
 * managed (the front never loads, unloads, evicts or refuses for size; its requests go
 * straight through and queue at the remote), carries no pins of its own (the client's
 * options and keep-alive pass on for the remote to pin), and reports the remote's
 * residency (`/api/ps`) as its own. Only inference-scope calls are made: an inference key
 * of the remote is enough.
 */
export class WarmgateBackend implements Backend {
  readonly kind = 'warmgate' as const;
  readonly dialect = 'ollama' as const;
  readonly managed = false;
  readonly takesLoadOptions = false;
  readonly pinsItself = true;
  readonly name: string;
  readonly breaker: CircuitBreaker | undefined;
  readonly #api: OllamaBackend;
  readonly #keyed: boolean;

  constructor(name: string, opts: WarmgateBackendOptions) {
    this.name = name;
    this.#keyed = opts.apiKey !== undefined;
    this.#api = new OllamaBackend(name, {
      url: opts.url, timeouts: opts.timeouts, memory: {},
      headers: opts.apiKey === undefined ? {} : { authorization: `Bearer ${opts.apiKey}` },
      // Nothing of the front's: the remote writes its own pins and keep-alive into every call.
      pins: () => ({ options: {}, keep_alive: undefined }),
      // The remote's own health page answers from its HTTP layer alone (its /api/version asks its daemons).
      breaker: opts.breaker, probePath: '/warmgate/health',
    });
    this.breaker = this.#api.breaker;
  }

  async forward(model: BackendModel, call: RawCall): Promise<UpstreamReply> {
    const res = await this.#api.forward(model, call);
    if (res.status === 401 || res.status === 403) throw this.#refused(upstreamStatusError(res.status, await readText(res.body), this.name));
    return res;
  }

  /** The remote's models (state, queue, slots) and pools (budget, use), from its `/warmgate/status` (a `local` page: any key opens it). */
  async hostStatus(): Promise<HostStatus> {
    const res = await this.#checked(this.#api.call({ method: 'GET', path: '/warmgate/status', signal: AbortSignal.timeout(HOST_STATUS_TIMEOUT_MS) }));
    const text = await readText(res.body);
    if (res.status >= 400) throw this.#refusedOr(upstreamStatusError(res.status, text, this.name));
    const status = JSON.parse(text) as { models: Array<HostStatus['models'][number] & { estimatedBytes?: Record<string, number> }>; pools: HostStatus['pools'] };
    return {
      models: status.models.map(({ name, state, queued, inFlight, maxParallel, estimatedBytes }) => ({
        name, state, queued, inFlight, maxParallel, bytes: Object.values(estimatedBytes ?? {}).reduce((a, b) => a + b, 0),
      })),
      pools: status.pools.map(({ name, budget, used }) => ({ name, budget, used })),
    };
  }

  async *generate(model: BackendModel, req: GenerateRequest, signal: AbortSignal): AsyncIterable<GenerateEvent> {
    // Only the call's start can be refused; what follows is the remote's reply.
    const it = this.#api.generate(model, req, signal)[Symbol.asyncIterator]();
    const first = await this.#checked(it.next());
    if (first.done) return;
    try {
      yield first.value;
      yield* { [Symbol.asyncIterator]: () => it };
    } finally {
      // A reader that stops at the first event leaves `it` suspended: close it, and with it the remote's reply.
      await it.return?.();
    }
  }

  embed(model: BackendModel, req: EmbedRequest, signal: AbortSignal): Promise<EmbedResult> {
    return this.#checked(this.#api.embed(model, req, signal));
  }

  /** The host dropped the connection mid-reply (it went down or restarted): said so, as the Ollama backend says it of a daemon. */
  brokenReply(model: BackendModel, err: unknown, signal: AbortSignal): WarmgateError | undefined {
    if (!cutMidReply(err, signal)) return undefined;
    return new WarmgateError('BACKEND_CRASHED', `Warmgate backend ${this.name} closed the connection in the middle of the reply for ${model.upstream} (the host went down or restarted)`, { cause: err });
  }

  catalog(): Promise<CatalogModel[]> {
    return this.#checked(this.#api.catalog());
  }

  /** The remote's own `/api/ps`: what it holds resident, with its own `expires_at`. */
  running(): Promise<RunningModel[]> {
    return this.#checked(this.#api.running());
  }

  show(model: BackendModel): Promise<Record<string, unknown>> {
    return this.#checked(this.#api.show(model));
  }

  close(): Promise<void> {
    return this.#api.close();
  }

  async #checked<T>(call: Promise<T>): Promise<T> {
    try {
      return await call;
    } catch (err) {
      throw isWarmgateError(err) ? this.#refusedOr(err) : err;
    }
  }

  #refusedOr(err: WarmgateError): WarmgateError {
    return err.status === 401 || err.status === 403 ? this.#refused(err) : err;
  }

  /**
   * The remote refused this gateway's key: a 502 naming the backend, not the remote's 401,
   * which would tell the client that its own key is wrong.
   */
  #refused(err: WarmgateError): WarmgateError {
    const why = this.#keyed ? `refused backends.${this.name}.api_key` : `asks for a key and backends.${this.name}.api_key is not set`;
    return new WarmgateError('UPSTREAM_ERROR', `Warmgate backend ${this.name} answered ${err.status}: it ${why} (an inference key of that gateway is enough): ${err.message}`, { status: 502, replied: true, cause: err });
  }
}
