import type { OllamaBackend } from '../backends/ollama/ollama-backend.js';
import { WarmgateError } from '../errors.js';
import type { ModelRegistry } from '../models/registry.js';
import { readText, type RawCall } from '../upstream/upstream-pool.js';

/** A daemon's reply as the route passes it on: whole, or streamed progress text (NDJSON). */
export interface DaemonReply {
  status: number;
  contentType: string;
  text?: string;
  stream?: AsyncIterable<string>;
}

/** Calls that change a daemon's catalog: the registry reads it again as soon as they end. */
const CATALOG_CHANGES = new Set(['/api/pull', '/api/copy', '/api/create', '/api/delete']);

/**
 * The Ollama daemons' own API, for no model the gateway serves yet: version, pull, push,
 * create, copy, delete and blobs. They go to the daemon that owns the named model, else the
 * first one; with no daemon configured they answer NOT_SUPPORTED. A call that changes the
 * catalog refreshes the registry when it ends, so the next request finds (or misses) the model.
 */
export class DaemonApi {
  readonly #daemons: OllamaBackend[];
  readonly #registry: ModelRegistry;

  constructor(daemons: OllamaBackend[], registry: ModelRegistry) {
    this.#daemons = daemons;
    this.#registry = registry;
  }

  /** The first daemon's `/api/version` body, or undefined when there is none or it cannot say (a version check must not fail). */
  async version(): Promise<unknown> {
    const daemon = this.#daemons[0];
    if (!daemon) return undefined;
    try {
      const res = await daemon.call({ method: 'GET', path: '/api/version' });
      const text = await readText(res.body);
      return res.status === 200 ? JSON.parse(text) : undefined;
    } catch {
      return undefined;
    }
  }

  /** A management call; `name` picks the daemon that owns that model. Streamed progress stays streamed. */
  async manage(name: unknown, call: RawCall): Promise<DaemonReply> {
    const owner = typeof name === 'string' ? (await this.#registry.resolve(name))?.backend : undefined;
    const daemon = this.#daemons.find((d) => d === owner) ?? this.#first(`${call.path} needs`);
    const res = await daemon.call(call);
    const contentType = String(res.headers['content-type'] ?? 'application/json');
    const refresh = async () => {
      if (CATALOG_CHANGES.has(call.path)) await this.#registry.refresh();
    };
    if (res.status !== 200 || !contentType.includes('ndjson')) {
      const text = await readText(res.body);
      await refresh();
      return { status: res.status, contentType, text };
    }
    const decoder = new TextDecoder();
    const stream = (async function* () {
      for await (const chunk of res.body) yield decoder.decode(chunk as Uint8Array, { stream: true });
      await refresh();
    })();
    return { status: res.status, contentType, stream };
  }

  /** A blob check (HEAD) or upload (POST, the body streamed as is) on the first daemon. */
  async blob(call: RawCall): Promise<{ status: number; text: string }> {
    const res = await this.#first('blobs need').call(call);
    return { status: res.status, text: await readText(res.body) };
  }

  #first(who: string): OllamaBackend {
    const daemon = this.#daemons[0];
    if (!daemon) throw new WarmgateError('NOT_SUPPORTED', `${who} an Ollama backend; none is configured`);
    return daemon;
  }
}
