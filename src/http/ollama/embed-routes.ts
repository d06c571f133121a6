import type { Context, Hono } from 'hono';
import type { Gateway } from '../../gateway/gateway.js';
import { ollamaEmbeddingsReply, ollamaEmbedReply, ollamaEmbedToCanonical } from '../../dialects/ollama.js';
import { ollamaEmbeddingsSchema, ollamaEmbedSchema } from '../../dialects/ollama-schemas.js';
import { readBody } from '../body.js';
import { answered } from '../errors.js';
import { recorded, scopeOf } from '../request-scope.js';
import { residencyOnly } from './residency-only.js';

type Body = Record<string, unknown>;

/**
 * `/api/embed` (input string or array) and the legacy `/api/embeddings` (`prompt`). Both
 * go through the canonical embed path, so batching, the cache and pinning apply to either,
 * except the legacy one on an Ollama backend: only the daemon's own `/api/embeddings`
 * returns the raw (not normalised) vector, so it passes through (one prompt, nothing to batch).
 */
export function registerOllamaEmbed(app: Hono, gw: Gateway): void {
  for (const kind of ['embed', 'embeddings'] as const) app.post(`/api/${kind}`, recorded(gw, 'ollama', `/api/${kind}`, (c) => handle(c, gw, kind)));
}

async function handle(c: Context, gw: Gateway, kind: 'embed' | 'embeddings'): Promise<Response> {
  const body = (kind === 'embed' ? await readBody(c, ollamaEmbedSchema) : await readBody(c, ollamaEmbeddingsSchema)) as Body;
  const record = c.get('record');
  const entry = await gw.resolve(body.model, record);
  const req = ollamaEmbedToCanonical(body as never);
  req.model = entry.name;
  // Ollama's preload shape: an empty input loads the model (or unloads it with keep_alive 0).
  if (req.input.length === 0) return residencyOnly(c, gw, entry, body, kind);
  const pinned = await gw.prepare(entry, body, record);
  if (kind === 'embeddings' && gw.speaks(entry, 'ollama')) {
    const out = { ...body, model: entry.upstream, options: pinned.options, keep_alive: pinned.keep_alive };
    const { reply } = await gw.forwardWhole(entry, { method: 'POST', path: '/api/embeddings', body: out }, scopeOf(c), { parse: JSON.parse });
    return answered(c, reply);
  }
  const result = await gw.embed(entry, req, scopeOf(c));
  if (pinned.unload) await gw.unload(entry);
  return answered(c, kind === 'embed' ? ollamaEmbedReply(result, String(body.model), record.elapsed()) : ollamaEmbeddingsReply(result));
}
