import type { Context, Hono } from 'hono';
import type { Gateway } from '../../gateway/gateway.js';
import { ollamaEmbedReply, ollamaEmbeddingsReply, ollamaEmbedToCanonical } from '../../dialects/ollama.js';
import { ollamaEmbedSchema, ollamaEmbeddingsSchema } from '../../dialects/ollama-schemas.js';
import { toWarmgateError } from '../../errors.js';
import { serverTiming } from '../../telemetry/timer.js';
import { readBody } from '../body.js';
import { errorResponse } from '../errors.js';
import { requestAbort } from '../streaming.js';

/**
 * `/api/embed` (input string or array) and the legacy `/api/embeddings` (`prompt`). Both
 * go through the canonical embed path, so batching, the cache and pinning apply to either.
 */
export function registerOllamaEmbed(app: Hono, gw: Gateway): void {
  app.post('/api/embed', (c) => handle(c, gw, 'embed'));
  app.post('/api/embeddings', (c) => handle(c, gw, 'embeddings'));
}

async function handle(c: Context, gw: Gateway, kind: 'embed' | 'embeddings'): Promise<Response> {
  const timer = gw.parts.telemetry.start('ollama', `/api/${kind}`);
  const abort = requestAbort(c);
  try {
    const body = kind === 'embed' ? await readBody(c, ollamaEmbedSchema) : await readBody(c, ollamaEmbeddingsSchema);
    const entry = await gw.resolve(body.model, timer);
    gw.parts.pins.apply(entry, (body as { options?: Record<string, unknown> }).options, timer);
    const { unload } = gw.parts.pins.keepAlive(entry, (body as { keep_alive?: unknown }).keep_alive, timer);
    const req = ollamaEmbedToCanonical(body as never);
    req.model = entry.name;
    let reply: Record<string, unknown>;
    if (req.input.length === 0) {
      // Ollama's preload shape: an empty input loads the model (or unloads it with keep_alive 0).
      if (unload) await gw.parts.residency.unload(entry);
      else (await gw.acquire(entry, timer, abort.signal)).release();
      reply = { model: body.model, embeddings: [] };
    } else {
      const result = await gw.embed(entry, req, timer, abort.signal);
      reply = kind === 'embed' ? ollamaEmbedReply(result, String(body.model), timer.elapsed()) : ollamaEmbeddingsReply(result);
      if (unload) await gw.parts.residency.unload(entry);
    }
    timer.finish(200);
    return c.json(reply, 200, { 'server-timing': serverTiming(timer.record, timer.record.total_ms) });
  } catch (err) {
    const e = toWarmgateError(err);
    timer.finish(e.status, e);
    return errorResponse(c, 'ollama', e);
  }
}
