import { Hono } from 'hono';
import type { Gateway } from '../gateway/gateway.js';
import { Catalog } from '../gateway/catalog.js';
import { WarmgateError } from '../errors.js';
import { registerAdmin } from './admin/admin-routes.js';
import { BODY_LIMIT, requestHeader, tooLarge } from './body.js';
import { dialectOf, errorResponse } from './errors.js';
import { registerOllamaCatalog } from './ollama/catalog-routes.js';
import { registerOllamaEmbed } from './ollama/embed-routes.js';
import { registerOllamaGenerate } from './ollama/generate-routes.js';
import { registerLlamaServer } from './llama-server/llama-routes.js';
import { registerOpenAI } from './openai/openai-routes.js';

/** The Hono app: every dialect's routes over one Gateway; errors always in the caller's dialect. */
export function createApp(gw: Gateway): Hono {
  const app = new Hono();
  const catalog = new Catalog(gw.parts.registry, gw.parts.residency, gw.parts.log);
  const limit = gw.parts.config.server.body_limit;

  // A declared length over the limit is refused before anything is read; a chunked body is
  // cut off at the limit while `readJson` reads it. Blob uploads (model files) are exempt.
  app.use('*', async (c, next) => {
    if (c.req.path.startsWith('/api/blobs/')) return next();
    const declared = Number(requestHeader(c, 'content-length') ?? 0);
    if (declared > limit) {
      // The rest of the body is never read, so the connection cannot be reused.
      c.header('connection', 'close');
      return errorResponse(c, dialectOf(c.req.path), tooLarge(limit));
    }
    c.set(BODY_LIMIT, limit);
    await next();
  });

  registerOllamaCatalog(app, gw, catalog);
  registerOllamaGenerate(app, gw);
  registerOllamaEmbed(app, gw);
  registerOpenAI(app, gw, catalog);
  registerLlamaServer(app, gw);
  registerAdmin(app, gw);

  app.notFound((c) => errorResponse(c, dialectOf(c.req.path), new WarmgateError('BAD_REQUEST', `no route for ${c.req.method} ${c.req.path}`, { status: 404 })));
  app.onError((err, c) => {
    gw.parts.log.error({ err }, 'unhandled error');
    return errorResponse(c, dialectOf(c.req.path), err);
  });
  return app;
}
