import type { Context, Hono } from 'hono';
import type { Gateway } from '../../gateway/gateway.js';
import { LlamaServerReplyParser } from '../../dialects/llama-server.js';
import {
  LlamaCompletionRenderer, llamaCompletionSchema, llamaCompletionToCanonical, llamaEmbeddingReply, llamaEmbeddingSchema, llamaEmbeddingToCanonical,
} from '../../dialects/llama-server-native.js';
import { sseData, sseEvent } from '../../dialects/sse.js';
import { WarmgateError } from '../../errors.js';
import { readJsonObject, validate } from '../body.js';
import { answered } from '../errors.js';
import { recorded, scopeOf } from '../request-scope.js';
import { collect, streamReply } from '../streaming.js';

type Body = Record<string, unknown>;
const SSE = 'text/event-stream';
const sseError = (e: WarmgateError) => sseEvent({ error: { code: e.status, message: e.message, type: 'server_error' } });

/**
 * llama-server's native API, routed by model: the body's `model`, a `?model=` query, or the
 * default (the only model of the right type). To a llama-server-compatible backend the body
 * passes through untouched (unknown fields such as `grammar` kept); to an Ollama backend
 * `/completion` is translated through the canonical model and the rest answer 501.
 */
export function registerLlamaServer(app: Hono, gw: Gateway): void {
  app.get('/health', (c) => c.json({ status: 'ok' }));
  for (const path of ['/completion', '/completions']) app.post(path, recorded(gw, 'llama-server', '/completion', (c) => completion(c, gw)));
  for (const path of ['/embedding', '/embeddings']) app.post(path, recorded(gw, 'llama-server', '/embedding', (c) => embedding(c, gw)));
  app.get('/props', recorded(gw, 'llama-server', '/props', (c) => nativeOnly(c, gw, 'GET', '/props')));
  for (const path of ['/tokenize', '/detokenize'] as const) app.post(path, recorded(gw, 'llama-server', path, (c) => nativeOnly(c, gw, 'POST', path)));
}

async function completion(c: Context, gw: Gateway): Promise<Response> {
  const raw = (await readJsonObject(c)) as Body;
  const body = validate(llamaCompletionSchema, raw);
  const entry = await gw.resolveOrOnly(raw.model ?? c.req.query('model'), 'chat', c.get('record'));
  const stream = (c.get('record').record.stream = body.stream === true);
  if (gw.speaks(entry, 'llama-server')) {
    // Same dialect: the body goes to the model's own server as is; timings are read on the way.
    const parser = new LlamaServerReplyParser();
    const events = (data: string) => parser.push(JSON.parse(data));
    const call = { method: 'POST', path: '/completion', body: raw } as const;
    if (!stream) return answered(c, (await gw.forwardWhole(entry, call, scopeOf(c), { parse: (text) => text, events })).reply);
    const pieces = await gw.forward(entry, call, scopeOf(c), { read: sseData, events });
    return streamReply(c, pieces, { contentType: SSE, piece: (data) => `data: ${data}\n\n`, error: sseError });
  }
  const events = await gw.generate(entry, llamaCompletionToCanonical(body, entry.name), scopeOf(c));
  const renderer = new LlamaCompletionRenderer({ model: String(raw.model ?? entry.name) });
  if (!stream) return answered(c, renderer.final(await collect(events)));
  return streamReply(c, events, { contentType: SSE, piece: (ev) => sseEvent(renderer.chunk(ev)), error: sseError });
}

async function embedding(c: Context, gw: Gateway): Promise<Response> {
  const raw = (await readJsonObject(c)) as Body;
  const body = validate(llamaEmbeddingSchema, raw);
  const entry = await gw.resolveOrOnly(raw.model ?? c.req.query('model'), 'embedding', c.get('record'));
  return answered(c, llamaEmbeddingReply(await gw.embed(entry, llamaEmbeddingToCanonical(body, entry.name), scopeOf(c))));
}

/** Routes only a llama-server-compatible backend can answer: passed through to the model's server, its status kept. */
async function nativeOnly(c: Context, gw: Gateway, method: 'GET' | 'POST', path: string): Promise<Response> {
  const body = method === 'POST' ? ((await readJsonObject(c)) as Body) : undefined;
  const entry = await gw.resolveOrOnly(body?.model ?? c.req.query('model'), 'chat', c.get('record'));
  gw.requireLlamaServer(entry, path);
  const { status, reply } = await gw.forwardWhole(entry, { method, path, body }, scopeOf(c), { parse: (text) => text, passErrors: true });
  c.get('record').finish(status);
  return c.body(reply, status as 200, { 'content-type': 'application/json' });
}
