import type { Context, Hono } from 'hono';
import type { Gateway } from '../../gateway/gateway.js';
import {
  OpenAIStreamRenderer, openaiChatToCanonical, openaiCompletionToCanonical, openaiEmbeddingsReply, openaiEmbeddingsToCanonical, openaiFinal,
} from '../../dialects/openai.js';
import { openaiChatSchema, openaiCompletionSchema, openaiEmbeddingsSchema } from '../../dialects/openai-schemas.js';
import { sseEvent } from '../../dialects/sse.js';
import { modelNotFound } from '../../errors.js';
import { readBody } from '../body.js';
import { answered } from '../errors.js';
import { recorded, scopeOf } from '../request-scope.js';
import { collect, streamReply } from '../streaming.js';

type Kind = 'chat' | 'completion';
const ROUTES: Record<Kind, string> = { chat: '/v1/chat/completions', completion: '/v1/completions' };

/**
 * The OpenAI surface. Every request is translated through the canonical model, so to an
 * Ollama backend it becomes the native call with the model's pinned options and keep-alive
 * (a `/v1` call no longer reloads a model that native clients loaded with other options).
 */
export function registerOpenAI(app: Hono, gw: Gateway): void {
  for (const kind of ['chat', 'completion'] as const) app.post(ROUTES[kind], recorded(gw, 'openai', ROUTES[kind], (c) => generate(c, gw, kind)));
  app.post('/v1/embeddings', recorded(gw, 'openai', '/v1/embeddings', (c) => embeddings(c, gw)));

  app.get('/v1/models', async (c) => c.json({ object: 'list', data: (await gw.catalog.tags()).map((m) => modelObject(m.name, m.modified_at)) }));
  app.get('/v1/models/:model{.+}', async (c) => {
    const name = c.req.param('model');
    const found = (await gw.catalog.tags()).find((m) => m.name === name || m.name === `${name}:latest`);
    if (!found) throw modelNotFound(name);
    return c.json(modelObject(found.name, found.modified_at));
  });
}

function modelObject(id: string, modified: string): Record<string, unknown> {
  return { id, object: 'model', created: Math.floor(Date.parse(modified) / 1000) || 0, owned_by: 'warmgate' };
}

async function generate(c: Context, gw: Gateway, kind: Kind): Promise<Response> {
  const body = kind === 'chat' ? await readBody(c, openaiChatSchema) : await readBody(c, openaiCompletionSchema);
  const entry = await gw.resolve(body.model, c.get('record'));
  const req = kind === 'chat' ? openaiChatToCanonical(body as never) : openaiCompletionToCanonical(body as never);
  req.model = entry.name;
  c.get('record').record.stream = req.stream;
  const events = await gw.generate(entry, req, scopeOf(c));
  const model = String(body.model);
  if (!req.stream) return answered(c, openaiFinal(kind, await collect(events), { model }));
  const includeUsage = Boolean((body as { stream_options?: { include_usage?: boolean } }).stream_options?.include_usage);
  const renderer = new OpenAIStreamRenderer({ kind, model, includeUsage });
  return streamReply(c, events, {
    contentType: 'text/event-stream',
    piece: (ev) => renderer.chunks(ev).map(sseEvent).join(''),
    error: (e) => sseEvent({ error: { message: e.message, type: 'server_error', code: e.code } }),
    end: sseEvent('[DONE]'),
  });
}

async function embeddings(c: Context, gw: Gateway): Promise<Response> {
  const body = await readBody(c, openaiEmbeddingsSchema);
  const entry = await gw.resolve(body.model, c.get('record'));
  const req = openaiEmbeddingsToCanonical(body as never);
  req.model = entry.name;
  const result = await gw.embed(entry, req, scopeOf(c));
  return answered(c, openaiEmbeddingsReply(result, { model: String(body.model), encoding: body.encoding_format === 'base64' ? 'base64' : 'float' }));
}
