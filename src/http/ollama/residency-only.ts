import type { Context } from 'hono';
import type { Gateway, ModelEntry } from '../../gateway/gateway.js';
import { answered } from '../errors.js';
import { scopeOf } from '../request-scope.js';

type Body = Record<string, unknown>;

/**
 * Ollama's preload and unload: a generate with no prompt, a chat with no messages, an embed
 * with no input (the legacy embeddings with no prompt). A client's unload (`keep_alive: 0`) is honoured only where the model allows
 * it; otherwise the model stays as it is and the reply says `load` (the record notes the
 * ignored keep_alive). The reply is the daemon's own for that shape.
 */
export async function residencyOnly(c: Context, gw: Gateway, entry: ModelEntry, body: Body, kind: 'chat' | 'generate' | 'embed' | 'embeddings'): Promise<Response> {
  const reason = await gw.residencyOnly(entry, await gw.prepare(entry, body, c.get('record')), scopeOf(c));
  // The legacy /api/embeddings answers an empty prompt with an empty vector.
  if (kind === 'embeddings') return answered(c, { embedding: [] });
  const reply: Body = kind === 'embed'
    ? { model: body.model, embeddings: [] }
    : { model: body.model, created_at: new Date().toISOString(), done: true, done_reason: reason };
  if (kind === 'chat') reply.message = { role: 'assistant', content: '' };
  if (kind === 'generate') reply.response = '';
  return answered(c, reply);
}
