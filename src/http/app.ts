import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Gateway } from '../gateway/gateway.js';
import { Catalog } from '../gateway/catalog.js';
import { WarmgateError } from '../errors.js';
import { registerAdmin } from './admin/admin-routes.js';
import { dialectOf, errorResponse } from './errors.js';
import { registerOllamaCatalog } from './ollama/catalog-routes.js';
import { registerOllamaEmbed } from './ollama/embed-routes.js';
import { registerOllamaGenerate } from './ollama/generate-routes.js';
import { registerLlamaServer } from './llama-server/llama-routes.js';
import { registerOpenAI } from './openai/openai-routes.js';

/** The Hono app: every dialect's routes over one Gateway; errors always in the caller's dialect. */
export function createApp(gw: Gateway): Hono {
  const app = new Hono();
  const catalog = new Catalog(gw.parts.registry, gw.parts.log);
  const limit = gw.parts.config.server.body_limit;

  app.use('*', async (c, next) => {
    // Blob uploads are model files: they stream through and are exempt from the JSON body limit.
    // GET and HEAD carry no body (and hono's bodyLimit fails on HEAD).
    if (c.req.method === 'GET' || c.req.method === 'HEAD' || c.req.path.startsWith('/api/blobs/')) {
      await next();
      return;
    }
    return bodyLimit({
      maxSize: limit,
      onError: (ctx) => {
        // The rest of the body is never read, so the connection cannot be reused.
        ctx.header('connection', 'close');
        return errorResponse(ctx, dialectOf(ctx.req.path), new WarmgateError('BODY_TOO_LARGE', `request body is larger than the limit of ${limit} bytes (server.body_limit)`));
      },
    })(c, next);
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
