import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { keepAliveSeconds } from '../../src/config/units.js';
import { FakeCatalog, withTag, type FakeModelSpec } from './fake-catalog.js';
import { isLoopbackHost, isoWithOffset, readText, sendEmpty, sendJson } from './fake-http.js';
import {
  errorBody, nativeEmbed, nativeGenerate, openaiEmbeddings, openaiGenerate, type Exchange, type InferenceHost,
} from './fake-ollama-inference.js';
import { copy, create, pull, push, remove, show } from './fake-ollama-models.js';
import { FakeResidency, type LoadRecord, type ResidentModel } from './fake-residency.js';
import { Turnstile } from './turnstile.js';

export type { FakeModelSpec } from './fake-catalog.js';

/**
 * A scripted Ollama daemon on a real HTTP server (port 0), behaving as RUNTIMES.md says:
 * its endpoints and error bodies, NDJSON streams with nanosecond metrics, preload/unload,
 * keep-alive, reloads on load-option changes, evictions (by count, or by its own VRAM
 * figure) as Ollama's scheduler picks them, the loopback Host check. It
 * counts loads and records every request. Knobs script what a real daemon cannot show
 * on demand: held loads, a crash or an error line mid-stream, chunks released one by one.
 */

export interface FakeOllamaOptions {
  models: FakeModelSpec[];
  /** Answer 403 unless Host is loopback, as Ollama bound to 127.0.0.1 does. */
  hostCheck?: boolean;
  /** OLLAMA_MAX_LOADED_MODELS. Default 3. */
  maxLoaded?: number;
  /**
   * The daemon's VRAM in bytes: a model loads beside others only if it fits wholly in what
   * they leave, else the daemon unloads one; `/api/ps` shows `size` and `size_vram`. Absent:
   * unlimited (only `maxLoaded` evicts).
   */
  vram?: number;
  /** OLLAMA_KEEP_ALIVE: applies when a model is loaded by a request without keep_alive. Default "5m". */
  defaultKeepAlive?: number | string;
  /** Clock for keep-alive expiry and timestamps; default Date.now. */
  now?: () => number;
  version?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON, or the raw text when it is not JSON (undefined when empty). */
  body: unknown;
  /** Whether the reply was sent in full or the connection closed first. */
  outcome: Promise<'completed' | 'aborted'>;
}

type Handler = (ex: Exchange) => Promise<void> | void;

/** Go's MaxInt64 nanoseconds: what `expires_at` shows for a model kept forever. */
const FOREVER_MS = 9_223_372_036_854;

export class FakeOllama {
  readonly requests: RecordedRequest[] = [];
  /** Destroy the socket after this many lines of every streamed reply. */
  crashMidStream: number | undefined;
  /** End the reply cleanly after this many lines, before its last (`done`) one: a runner that quit. */
  endMidStream: number | undefined;
  /** Send `{"error": message}` (status already 200) after this many lines, then end. */
  errorMidStream: { afterChunks: number; message: string } | undefined;
  /** When set, every line of a streamed reply waits for a pass (`allow(1)` = one line). */
  streamGate: Turnstile | undefined;
  /** A dying daemon: every new request is recorded, then its connection reset before any reply (replies already streaming go on). */
  resetRequests = false;

  readonly #catalog: FakeCatalog;
  readonly #residency: FakeResidency;
  readonly #opts: FakeOllamaOptions;
  readonly #now: () => number;
  readonly #holds = new Map<string, Turnstile>();
  readonly #watchers: Array<() => void> = [];
  readonly #routes: Map<string, Handler>;
  #server: Server | undefined;

  constructor(opts: FakeOllamaOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#catalog = new FakeCatalog(opts.models);
    this.#residency = new FakeResidency({
      maxLoaded: opts.maxLoaded ?? 3,
      vram: opts.vram,
      sizeOf: (model) => this.#catalog.get(model)?.size ?? 0,
      defaultKeepAliveMs: (keepAliveSeconds(opts.defaultKeepAlive ?? '5m') ?? 300) * 1000,
      now: this.#now,
      beforeLoad: (model) => this.#beforeLoad(model),
    });
    const host: InferenceHost = {
      catalog: this.#catalog,
      residency: this.#residency,
      now: this.#now,
      stream: (res, type, lines, errorLine, lineMs) => this.#stream(res, type, lines, errorLine, lineMs),
    };
    this.#routes = new Map<string, Handler>([
      ['GET /', ({ res }) => {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('Ollama is running');
      }],
      ['GET /api/version', ({ res }) => sendJson(res, 200, { version: opts.version ?? '0.6.8' })],
      ['GET /api/tags', ({ res }) => sendJson(res, 200, { models: this.#catalog.list().map((e) => this.#catalog.tag(e)) })],
      ['GET /api/ps', ({ res }) => sendJson(res, 200, { models: this.#residency.resident().map((m) => this.#psEntry(m)) })],
      ['POST /api/show', (ex) => show(this.#catalog, ex)],
      ['POST /api/chat', (ex) => nativeGenerate(host, ex, 'chat')],
      ['POST /api/generate', (ex) => nativeGenerate(host, ex, 'generate')],
      ['POST /api/embed', (ex) => nativeEmbed(host, ex, false)],
      ['POST /api/embeddings', (ex) => nativeEmbed(host, ex, true)],
      ['POST /api/pull', (ex) => pull(this.#catalog, ex)],
      ['POST /api/push', (ex) => push(this.#catalog, ex)],
      ['POST /api/create', (ex) => create(this.#catalog, ex)],
      ['POST /api/copy', (ex) => copy(this.#catalog, ex)],
      ['DELETE /api/delete', (ex) => remove(this.#catalog, this.#residency, ex)],
      ['POST /v1/chat/completions', (ex) => openaiGenerate(host, ex, 'chat')],
      ['POST /v1/completions', (ex) => openaiGenerate(host, ex, 'completion')],
      ['POST /v1/embeddings', (ex) => openaiEmbeddings(host, ex)],
      ['GET /v1/models', ({ res }) => sendJson(res, 200, { object: 'list', data: this.#catalog.list().map((e) => this.#openaiModel(e.name)) })],
    ]);
  }

  /** Listens on `port` (default: a free one); a daemon that comes back gets its old port. */
  async start(port = 0): Promise<{ url: string }> {
    const server = createServer((req, res) => void this.#handle(req, res));
    this.#server = server;
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return { url: this.url };
  }

  get url(): string {
    const address = this.#server?.address() as AddressInfo | null | undefined;
    if (!address) throw new Error('FakeOllama is not started');
    return `http://127.0.0.1:${address.port}`;
  }

  /** Releases every held load and gated stream, then closes all connections. */
  async close(): Promise<void> {
    for (const hold of this.#holds.values()) hold.open();
    this.streamGate?.open();
    const server = this.#server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Every load (and reload) so far, in order, with the effective load options. */
  get loads(): readonly LoadRecord[] {
    return this.#residency.loads;
  }

  get unloads(): readonly string[] {
    return this.#residency.unloads;
  }

  loadCount(model: string): number {
    return this.loads.filter((l) => l.model === withTag(model)).length;
  }

  /** Models resident now (expired ones dropped), as `/api/ps` would list them. */
  resident(): ResidentModel[] {
    return this.#residency.resident();
  }

  /**
   * Holds every load of `model` (all models when omitted) until `releaseLoads`. Resolves
   * when a load has reached the hold, so the test knows the upstream is "loading".
   */
  holdLoads(model?: string): Promise<void> {
    const key = model === undefined ? '*' : withTag(model);
    const hold = this.#holds.get(key) ?? new Turnstile();
    this.#holds.set(key, hold);
    return hold.waiting();
  }

  releaseLoads(model?: string): void {
    const key = model === undefined ? '*' : withTag(model);
    this.#holds.get(key)?.open();
    this.#holds.delete(key);
  }

  /** Resolves once `count` requests to `path` have arrived (counting those already here). */
  async waitForRequests(path: string, count = 1): Promise<RecordedRequest[]> {
    const matching = () => this.requests.filter((r) => r.path === path);
    while (matching().length < count) await new Promise<void>((resolve) => this.#watchers.push(resolve));
    return matching();
  }

  async #beforeLoad(model: string): Promise<void> {
    await this.#holds.get(model)?.pass();
    await this.#holds.get('*')?.pass();
    const loadMs = this.#catalog.get(model)?.spec.loadMs;
    if (loadMs) await delay(loadMs);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const text = await readText(req);
    const body = parseJson(text);
    this.requests.push({
      method: req.method ?? 'GET', path, headers: req.headers, body: body.ok ? body.value : text || undefined,
      outcome: new Promise((resolve) => res.on('close', () => resolve(res.writableFinished ? 'completed' : 'aborted'))),
    });
    this.#watchers.splice(0).forEach((notify) => notify());
    if (this.resetRequests) return void req.socket.destroy();
    if (this.#opts.hostCheck && !isLoopbackHost(req.headers.host)) return sendEmpty(res, 403);
    const handler = this.#route(req.method ?? 'GET', path);
    if (!handler) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      return void res.end('404 page not found');
    }
    const dialect = path.startsWith('/v1/') ? 'openai' : 'ollama';
    if (req.method === 'POST' || req.method === 'DELETE') {
      if (text.trim() === '') return sendJson(res, 400, errorBody(dialect, 400, 'missing request body'));
      if (!body.ok) return sendJson(res, 400, errorBody(dialect, 400, body.error));
    }
    try {
      await handler({ req, res, body: body.ok ? body.value : undefined });
    } catch (err) {
      if (!res.headersSent) sendJson(res, 500, errorBody(dialect, 500, (err as Error).message));
      else res.destroy();
    }
  }

  #route(method: string, path: string): Handler | undefined {
    const verb = method === 'HEAD' ? 'GET' : method;
    if (verb === 'GET' && path.startsWith('/v1/models/')) {
      const name = decodeURIComponent(path.slice('/v1/models/'.length));
      return ({ res }) => (this.#catalog.get(name)
        ? sendJson(res, 200, this.#openaiModel(withTag(name)))
        : sendJson(res, 404, errorBody('openai', 404, `model "${name}" not found`)));
    }
    return this.#routes.get(`${verb} ${path}`);
  }

  /** Writes lines one by one (at the model's pace); a knob may cut the stream (socket destroyed), end it early, or end it with an error line. */
  async #stream(res: ServerResponse, contentType: string, lines: string[], errorLine: (message: string) => string, lineMs: number | undefined): Promise<void> {
    const { crashMidStream: crashAt, endMidStream: endAt, errorMidStream: error, streamGate: gate } = this;
    res.writeHead(200, { 'Content-Type': contentType });
    res.flushHeaders();
    for (const [i, line] of lines.entries()) {
      if (i === crashAt) return void res.destroy();
      if (i === endAt) return void res.end();
      if (error && i === error.afterChunks) return void res.end(errorLine(error.message));
      await gate?.pass();
      if (lineMs) await delay(lineMs);
      if (res.destroyed) return;
      // Flushed before the next step, so a crash after N lines has really sent N lines.
      await new Promise<void>((resolve) => res.write(line, () => resolve()));
    }
    res.end();
  }

  #psEntry(m: ResidentModel): Record<string, unknown> {
    const entry = this.#catalog.get(m.name);
    const tag = entry ? this.#catalog.tag(entry) : { name: m.name, model: m.name };
    const expires = m.keepAliveMs === Infinity ? this.#now() + FOREVER_MS : m.expiresAt;
    return { ...tag, modified_at: undefined, expires_at: isoWithOffset(expires), size: m.size, size_vram: m.sizeVram, context_length: m.options.num_ctx };
  }

  #openaiModel(name: string): Record<string, unknown> {
    return { id: name, object: 'model', created: 1736933400, owned_by: 'library' };
  }
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  if (text.trim() === '') return { ok: false, error: 'missing request body' };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, error: `invalid JSON: ${(err as Error).message}` };
  }
}
