import type { Context, Hono } from 'hono';
import type { Backend } from '../../backends/backend.js';
import type { Gateway } from '../../gateway/gateway.js';
import type { Catalog } from '../../gateway/catalog.js';
import { WarmgateError } from '../../errors.js';
import { readText } from '../../proxy/upstream-pool.js';
import { readJson } from '../body.js';
import { errorResponse, failed } from '../errors.js';
import { requestAbort, streamResponse } from '../streaming.js';

/** The Ollama version the gateway reports when no Ollama daemon sits behind it. */
export const COMPAT_OLLAMA_VERSION = '0.12.0';

/**
 * Ollama's catalog and management routes. The catalog ones (`/`, version, tags, ps, show)
 * never touch residency, so they answer at once while generations stream.
 */
export function registerOllamaCatalog(app: Hono, gw: Gateway, catalog: Catalog): void {
  // Hono answers HEAD from the GET route, without the body.
  app.get('/', (c) => c.body('Ollama is running', 200, { 'content-type': 'text/plain; charset=utf-8' }));

  app.get('/api/version', async (c) => {
    const ollama = firstOllama(gw);
    if (ollama) {
      try {
        const res = await ollama.call({ method: 'GET', path: '/api/version' });
        if (res.status === 200) return c.json(JSON.parse(await readText(res.body)));
        await readText(res.body);
      } catch {
        // fall through to our own answer: a version check must not fail because one daemon is down
      }
    }
    return c.json({ version: COMPAT_OLLAMA_VERSION });
  });

  app.get('/api/tags', async (c) => c.json({ models: await catalog.tags() }));
  app.get('/api/ps', async (c) => c.json({ models: await catalog.running() }));

  app.post('/api/show', async (c) => {
    const timer = gw.parts.telemetry.start('ollama', '/api/show');
    try {
      const body = (await readJson(c)) as { model?: unknown; name?: unknown };
      const entry = await gw.resolve(body.model ?? body.name, timer);
      const info = await entry.backend.show(entry);
      timer.finish(200);
      return c.json(info);
    } catch (err) {
      return failed(c, 'ollama', timer, err);
    }
  });

  for (const path of ['/api/pull', '/api/push', '/api/create']) app.post(path, (c) => forwardManagement(c, gw, 'POST', path));
  app.post('/api/copy', (c) => forwardManagement(c, gw, 'POST', '/api/copy'));
  app.delete('/api/delete', (c) => forwardManagement(c, gw, 'DELETE', '/api/delete'));
  app.on(['HEAD', 'POST'], '/api/blobs/:digest', (c) => forwardBlob(c, gw));
}

function firstOllama(gw: Gateway): Backend | undefined {
  return [...gw.parts.backends.values()].find((b) => b.kind === 'ollama');
}

/** Management calls go to the Ollama backend that owns the named model, or the first one. Streamed replies stay streamed. */
async function forwardManagement(c: Context, gw: Gateway, method: 'POST' | 'DELETE', path: string): Promise<Response> {
  try {
    const body = (await readJson(c)) as Record<string, unknown>;
    const name = body.model ?? body.name ?? body.source;
    const owner = typeof name === 'string' ? (await gw.parts.registry.resolve(name))?.backend : undefined;
    const backend = owner?.kind === 'ollama' ? owner : firstOllama(gw);
    if (!backend) throw new WarmgateError('NOT_SUPPORTED', `${path} needs an Ollama backend; none is configured`);
    const abort = requestAbort(c);
    const res = await backend.call({ method, path, body, signal: abort.signal });
    const type = String(res.headers['content-type'] ?? 'application/json');
    if (res.status !== 200 || !type.includes('ndjson')) {
      return new Response(await readText(res.body), { status: res.status, headers: { 'content-type': type } });
    }
    const decoder = new TextDecoder();
    const text = (async function* () {
      for await (const chunk of res.body) yield decoder.decode(chunk as Uint8Array, { stream: true });
    })();
    return streamResponse(c, text, type, () => abort.abort());
  } catch (err) {
    return errorResponse(c, 'ollama', err);
  }
}

async function forwardBlob(c: Context, gw: Gateway): Promise<Response> {
  try {
    const backend = firstOllama(gw);
    if (!backend) throw new WarmgateError('NOT_SUPPORTED', 'blobs need an Ollama backend; none is configured');
    const path = `/api/blobs/${encodeURIComponent(c.req.param('digest') ?? '')}`;
    const raw = c.req.raw.body;
    const res = await backend.call({
      method: c.req.method as 'HEAD' | 'POST', path,
      raw: raw ? { body: raw as unknown as AsyncIterable<Uint8Array>, contentType: c.req.header('content-type') ?? 'application/octet-stream' } : undefined,
    });
    const text = await readText(res.body);
    return new Response(c.req.method === 'HEAD' ? null : text, { status: res.status });
  } catch (err) {
    return errorResponse(c, 'ollama', err);
  }
}
