import type { Context, Hono } from 'hono';
import type { Gateway } from '../../gateway/gateway.js';
import { readJsonObject } from '../body.js';
import { cancellable, recorded } from '../request-scope.js';
import { streamReply } from '../streaming.js';

/** The Ollama version the gateway reports when no Ollama daemon sits behind it. */
export const COMPAT_OLLAMA_VERSION = '0.12.0';

/**
 * Ollama's catalog and management routes. The catalog ones (`/`, version, tags, ps, show)
 * never touch residency, so they answer at once while generations stream. Management
 * (pull, push, create, copy, delete, blobs) passes through to a daemon, unrecorded.
 */
export function registerOllamaCatalog(app: Hono, gw: Gateway): void {
  // Hono answers HEAD from the GET route, without the body.
  app.get('/', (c) => c.body('Ollama is running', 200, { 'content-type': 'text/plain; charset=utf-8' }));
  app.get('/api/version', async (c) => c.json((await gw.daemons.version()) ?? { version: COMPAT_OLLAMA_VERSION }));
  app.get('/api/tags', async (c) => c.json({ models: await gw.catalog.tags() }));
  app.get('/api/ps', async (c) => c.json({ models: await gw.catalog.running() }));

  app.post('/api/show', recorded(gw, 'ollama', '/api/show', async (c) => {
    const body = (await readJsonObject(c)) as { model?: unknown; name?: unknown };
    const info = await gw.show(await gw.resolve(body.model ?? body.name, c.get('record')));
    c.get('record').finish(200);
    return c.json(info);
  }));

  for (const path of ['/api/pull', '/api/push', '/api/create', '/api/copy']) app.post(path, cancellable((c) => manage(c, gw, 'POST', path)));
  app.delete('/api/delete', cancellable((c) => manage(c, gw, 'DELETE', '/api/delete')));
  app.on(['HEAD', 'POST'], '/api/blobs/:digest', async (c) => {
    const raw = c.req.raw.body;
    const { status, text } = await gw.daemons.blob({
      method: c.req.method as 'HEAD' | 'POST', path: `/api/blobs/${encodeURIComponent(c.req.param('digest') ?? '')}`,
      raw: raw ? { body: raw as unknown as AsyncIterable<Uint8Array>, contentType: c.req.header('content-type') ?? 'application/octet-stream' } : undefined,
    });
    return new Response(c.req.method === 'HEAD' ? null : text, { status });
  });
}

/** A management call to the daemon that owns the named model, or the first one. Streamed progress stays streamed. */
async function manage(c: Context, gw: Gateway, method: 'POST' | 'DELETE', path: string): Promise<Response> {
  const body = (await readJsonObject(c)) as Record<string, unknown>;
  const reply = await gw.daemons.manage(body.model ?? body.name ?? body.source, { method, path, body, signal: c.get('signal') });
  if (!reply.stream) return new Response(reply.text, { status: reply.status, headers: { 'content-type': reply.contentType } });
  return streamReply(c, reply.stream, { contentType: reply.contentType, piece: (text) => text, error: () => '' });
}
