import type { Context, Hono } from 'hono';
import type { Gateway } from '../../gateway/gateway.js';
import { ollamaEmbedReply, ollamaEmbeddingsReply, ollamaEmbedToCanonical } from '../../dialects/ollama.js';
import { ollamaEmbedSchema, ollamaEmbeddingsSchema } from '../../dialects/ollama-schemas.js';
import type { ModelEntry } from '../../models/model-entry.js';
import { readText, upstreamStatusError } from '../../proxy/upstream-pool.js';
import type { RequestTimer } from '../../telemetry/timer.js';
import { readBody } from '../body.js';
import { answered, failed } from '../errors.js';
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
    } else if (kind === 'embeddings' && entry.backend.dialect === 'ollama') {
      // Ollama's legacy endpoint returns the raw (not normalised) vector: only the daemon's own
      // /api/embeddings gives it, so this one passes through (one prompt, nothing to batch).
      reply = await legacyPassthrough(gw, entry, body as Record<string, unknown>, timer, abort.signal);
    } else {
      const result = await gw.embed(entry, req, timer, abort.signal);
      reply = kind === 'embed' ? ollamaEmbedReply(result, String(body.model), timer.elapsed()) : ollamaEmbeddingsReply(result);
      if (unload) await gw.parts.residency.unload(entry);
    }
    return answered(c, timer, reply);
  } catch (err) {
    return failed(c, 'ollama', timer, err);
  }
}

async function legacyPassthrough(gw: Gateway, entry: ModelEntry, body: Record<string, unknown>, timer: RequestTimer, signal: AbortSignal): Promise<Record<string, unknown>> {
  const { pins } = gw.parts;
  const out = { ...body, model: entry.upstream, options: pins.apply(entry, body.options as Record<string, unknown> | undefined), keep_alive: pins.keepAlive(entry, body.keep_alive).keep_alive };
  const lease = await gw.acquire(entry, timer, signal);
  try {
    const res = await entry.backend.call({ method: 'POST', path: '/api/embeddings', body: out, signal });
    const text = await readText(res.body);
    if (res.status >= 400) throw upstreamStatusError(res.status, text, entry.backend.name);
    return JSON.parse(text) as Record<string, unknown>;
  } finally {
    lease.release();
  }
}
