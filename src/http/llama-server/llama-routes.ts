import type { Context, Hono } from 'hono';
import { speaksLlamaNative, type NativeLlamaBackend } from '../../backends/llama-server-client.js';
import type { Gateway } from '../../gateway/gateway.js';
import { noteEvent } from '../../gateway/gateway.js';
import { LlamaServerReplyParser } from '../../dialects/llama-server.js';
import {
  LlamaCompletionRenderer, llamaCompletionSchema, llamaCompletionToCanonical, llamaEmbeddingReply, llamaEmbeddingSchema, llamaEmbeddingToCanonical,
} from '../../dialects/llama-server-native.js';
import { sseData, sseEvent } from '../../dialects/sse.js';
import type { GenerateEvent } from '../../dialects/canonical.js';
import { WarmgateError } from '../../errors.js';
import type { ModelEntry } from '../../models/model-entry.js';
import { readText, upstreamStatusError } from '../../proxy/upstream-pool.js';
import { serverTiming, type RequestTimer } from '../../telemetry/timer.js';
import { readJson, validate } from '../body.js';
import { answered, failed, streamFailure } from '../errors.js';
import { requestAbort, streamResponse } from '../streaming.js';

type Body = Record<string, unknown>;

/**
 * llama-server's native API, routed by model: the body's `model`, a `?model=` query, or the
 * default (the only model of the right type). To a llama-server-compatible process the body
 * passes through untouched (unknown fields such as `grammar` kept); to an Ollama backend
 * it is translated through the canonical model.
 */
export function registerLlamaServer(app: Hono, gw: Gateway): void {
  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.post('/completion', (c) => completion(c, gw));
  app.post('/completions', (c) => completion(c, gw));
  app.post('/embedding', (c) => embedding(c, gw));
  app.post('/embeddings', (c) => embedding(c, gw));
  app.get('/props', (c) => nativeOnly(c, gw, 'GET', '/props'));
  app.post('/tokenize', (c) => nativeOnly(c, gw, 'POST', '/tokenize'));
  app.post('/detokenize', (c) => nativeOnly(c, gw, 'POST', '/detokenize'));
}

/** The model a native request names, or the default one of the wanted type. */
async function modelFor(c: Context, gw: Gateway, body: Body | undefined, want: 'chat' | 'embedding', timer: RequestTimer): Promise<ModelEntry> {
  const named = body?.model ?? c.req.query('model');
  if (typeof named === 'string' && named !== '') return gw.resolve(named, timer);
  const all = await gw.parts.registry.list();
  const types = await Promise.all(all.map((e) => gw.typeOf(e).catch(() => undefined)));
  const candidates = all.filter((_, i) => types[i] === want);
  if (candidates.length !== 1) {
    throw new WarmgateError('BAD_REQUEST', `name the model with "model" in the body or ?model=; ${candidates.length} ${want} models could serve this request`);
  }
  return gw.resolve(candidates[0].name, timer);
}

async function completion(c: Context, gw: Gateway): Promise<Response> {
  const timer = gw.parts.telemetry.start('llama-server', '/completion');
  const abort = requestAbort(c);
  try {
    const raw = (await readJson(c)) as Body;
    const body = validate(llamaCompletionSchema, raw);
    const entry = await modelFor(c, gw, raw, 'chat', timer);
    timer.record.stream = body.stream === true;
    if (speaksLlamaNative(entry.backend)) return await passthroughCompletion(c, gw, entry, entry.backend, raw, timer, abort);
    const events = await gw.generate(entry, llamaCompletionToCanonical(body, entry.name), timer, abort.signal);
    const renderer = new LlamaCompletionRenderer({ model: String(raw.model ?? entry.name) });
    if (!timer.record.stream) {
      const all: GenerateEvent[] = [];
      for await (const ev of events) all.push(ev);
      return answered(c, timer, renderer.final(all));
    }
    const chunks = (async function* () {
      try {
        for await (const ev of events) yield sseEvent(renderer.chunk(ev));
        timer.finish(200);
      } catch (err) {
        const e = streamFailure(timer, err);
        if (e) yield sseEvent({ error: { code: e.status, message: e.message, type: 'server_error' } });
      }
    })();
    return streamResponse(c, chunks, 'text/event-stream', () => abort.abort());
  } catch (err) {
    return failed(c, 'llama-server', timer, err);
  }
}

/** Same dialect: the body goes to the model's own process as is; timings are read on the way. */
async function passthroughCompletion(c: Context, gw: Gateway, entry: ModelEntry, backend: NativeLlamaBackend, body: Body, timer: RequestTimer, abort: AbortController): Promise<Response> {
  const lease = await gw.acquire(entry, timer, abort.signal);
  try {
    const res = await backend.callModel(entry, { method: 'POST', path: '/completion', body, signal: abort.signal });
    if (res.status >= 400) throw upstreamStatusError(res.status, await readText(res.body), entry.backend.name);
    const parser = new LlamaServerReplyParser();
    if (body.stream !== true) {
      const text = await readText(res.body);
      for (const ev of parser.push(JSON.parse(text))) noteEvent(timer, ev);
      lease.release();
      timer.finish(200);
      return c.body(text, 200, { 'content-type': 'application/json', 'server-timing': serverTiming(timer.record) });
    }
    const chunks = (async function* () {
      try {
        for await (const data of sseData(res.body)) {
          for (const ev of parser.push(JSON.parse(data))) noteEvent(timer, ev);
          yield `data: ${data}\n\n`;
        }
        timer.finish(200);
      } catch (err) {
        const e = streamFailure(timer, err);
        if (e) yield sseEvent({ error: { code: e.status, message: e.message, type: 'server_error' } });
      } finally {
        lease.release();
      }
    })();
    return streamResponse(c, chunks, 'text/event-stream', () => {
      abort.abort();
      lease.release();
    });
  } catch (err) {
    lease.release();
    throw err;
  }
}

async function embedding(c: Context, gw: Gateway): Promise<Response> {
  const timer = gw.parts.telemetry.start('llama-server', '/embedding');
  const abort = requestAbort(c);
  try {
    const raw = (await readJson(c)) as Body;
    const body = validate(llamaEmbeddingSchema, raw);
    const entry = await modelFor(c, gw, raw, 'embedding', timer);
    const result = await gw.embed(entry, llamaEmbeddingToCanonical(body, entry.name), timer, abort.signal);
    return answered(c, timer, llamaEmbeddingReply(result));
  } catch (err) {
    return failed(c, 'llama-server', timer, err);
  }
}

/** Routes only a llama-server-compatible process can answer: passed through to the model's process. */
async function nativeOnly(c: Context, gw: Gateway, method: 'GET' | 'POST', path: string): Promise<Response> {
  const timer = gw.parts.telemetry.start('llama-server', path);
  const abort = requestAbort(c);
  try {
    const body = method === 'POST' ? ((await readJson(c)) as Body) : undefined;
    const entry = await modelFor(c, gw, body, 'chat', timer);
    const backend = entry.backend;
    if (!speaksLlamaNative(backend)) {
      throw new WarmgateError('NOT_SUPPORTED', `${path} needs a llama-server backend (one Warmgate runs, or an external url); ${entry.name} is served by ${entry.backend.kind} backend ${entry.backend.name}`);
    }
    const lease = await gw.acquire(entry, timer, abort.signal);
    try {
      const res = await backend.callModel(entry, { method, path, body, signal: abort.signal });
      const text = await readText(res.body);
      timer.finish(res.status);
      return c.body(text, res.status as 200, { 'content-type': 'application/json' });
    } finally {
      lease.release();
    }
  } catch (err) {
    return failed(c, 'llama-server', timer, err);
  }
}
