import type { Context, Hono } from 'hono';
import type { Gateway } from '../../gateway/gateway.js';
import type { Catalog } from '../../gateway/catalog.js';
import type { GenerateEvent } from '../../dialects/canonical.js';
import {
  OpenAIStreamRenderer, openaiChatToCanonical, openaiCompletionToCanonical, openaiEmbeddingsReply, openaiEmbeddingsToCanonical, openaiFinal,
} from '../../dialects/openai.js';
import { openaiChatSchema, openaiCompletionSchema, openaiEmbeddingsSchema } from '../../dialects/openai-schemas.js';
import { sseEvent } from '../../dialects/sse.js';
import { WarmgateError } from '../../errors.js';
import { readBody } from '../body.js';
import { answered, errorResponse, failed, streamFailure } from '../errors.js';
import { requestAbort, streamResponse } from '../streaming.js';

type Kind = 'chat' | 'completion';

/**
 * The OpenAI surface. Every request is translated through the canonical model, so to an
 * Ollama backend it becomes the native call with the model's pinned options and keep-alive
 * (a `/v1` call no longer reloads a model that native clients loaded with other options).
 */
export function registerOpenAI(app: Hono, gw: Gateway, catalog: Catalog): void {
  app.post('/v1/chat/completions', (c) => generate(c, gw, 'chat'));
  app.post('/v1/completions', (c) => generate(c, gw, 'completion'));
  app.post('/v1/embeddings', (c) => embeddings(c, gw));

  app.get('/v1/models', async (c) => c.json({ object: 'list', data: (await catalog.tags()).map((m) => modelObject(m.name, m.modified_at)) }));
  app.get('/v1/models/:model{.+}', async (c) => {
    const name = c.req.param('model');
    const found = (await catalog.tags()).find((m) => m.name === name || m.name === `${name}:latest`);
    if (!found) return errorResponse(c, 'openai', new WarmgateError('MODEL_NOT_FOUND', `model "${name}" not found`));
    return c.json(modelObject(found.name, found.modified_at));
  });
}

function modelObject(id: string, modified: string): Record<string, unknown> {
  return { id, object: 'model', created: Math.floor(Date.parse(modified) / 1000) || 0, owned_by: 'warmgate' };
}

async function generate(c: Context, gw: Gateway, kind: Kind): Promise<Response> {
  const route = kind === 'chat' ? '/v1/chat/completions' : '/v1/completions';
  const timer = gw.parts.telemetry.start('openai', route);
  const abort = requestAbort(c);
  try {
    const body = kind === 'chat' ? await readBody(c, openaiChatSchema) : await readBody(c, openaiCompletionSchema);
    const entry = await gw.resolve(body.model, timer);
    const req = kind === 'chat' ? openaiChatToCanonical(body as never) : openaiCompletionToCanonical(body as never);
    req.model = entry.name;
    timer.record.stream = req.stream;
    const events = await gw.generate(entry, req, timer, abort.signal);
    const model = String(body.model);
    if (!req.stream) {
      const all: GenerateEvent[] = [];
      for await (const ev of events) all.push(ev);
      return answered(c, timer, openaiFinal(kind, all, { model }));
    }
    const includeUsage = Boolean((body as { stream_options?: { include_usage?: boolean } }).stream_options?.include_usage);
    const renderer = new OpenAIStreamRenderer({ kind, model, includeUsage });
    const chunks = (async function* () {
      try {
        for await (const ev of events) for (const chunk of renderer.chunks(ev)) yield sseEvent(chunk);
        yield sseEvent('[DONE]');
        timer.finish(200);
      } catch (err) {
        const e = streamFailure(timer, err);
        if (e) yield sseEvent({ error: { message: e.message, type: 'server_error', code: e.code } });
      }
    })();
    return streamResponse(c, chunks, 'text/event-stream', () => {
      timer.finish(499, { message: 'client disconnected', code: 'WG_CLIENT_CLOSED' });
      abort.abort();
    });
  } catch (err) {
    return failed(c, 'openai', timer, err);
  }
}

async function embeddings(c: Context, gw: Gateway): Promise<Response> {
  const timer = gw.parts.telemetry.start('openai', '/v1/embeddings');
  const abort = requestAbort(c);
  try {
    const body = await readBody(c, openaiEmbeddingsSchema);
    const entry = await gw.resolve(body.model, timer);
    const req = openaiEmbeddingsToCanonical(body as never);
    req.model = entry.name;
    const result = await gw.embed(entry, req, timer, abort.signal);
    const encoding = body.encoding_format === 'base64' ? 'base64' : 'float';
    return answered(c, timer, openaiEmbeddingsReply(result, { model: String(body.model), encoding }));
  } catch (err) {
    return failed(c, 'openai', timer, err);
  }
}
