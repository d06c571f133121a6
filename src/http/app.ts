import { Hono } from 'hono';
import { getPath } from 'hono/utils/url';
import type { Logger } from 'pino';
import type { Gateway } from '../gateway/gateway.js';
import { WarmgateError } from '../errors.js';
import type { Dialect } from '../gateway/gateway.js';
import { registerAdmin } from './admin/admin-routes.js';
import { BODY_IDLE_MS, BODY_LIMIT, requestHeader, tooLarge } from './body.js';
import { dialectOf, errorResponse } from './errors.js';
import { registerLlamaServer } from './llama-server/llama-routes.js';
import { registerOllamaCatalog } from './ollama/catalog-routes.js';
import { registerOllamaEmbed } from './ollama/embed-routes.js';
import { registerOllamaGenerate } from './ollama/generate-routes.js';
import { registerOpenAI } from './openai/openai-routes.js';
import { Drain } from './drain.js';
import { dialectApp } from './request-scope.js';
import { apiKeys } from './security/api-keys.js';
import { cors } from './security/cors.js';
import { hostCheck } from './security/host-check.js';

/** Each dialect's routes, registered on its sub-app. */
const DIALECTS: Array<[Dialect, Array<(app: Hono, gw: Gateway) => void>]> = [
  ['ollama', [registerOllamaCatalog, registerOllamaGenerate, registerOllamaEmbed]],
  ['openai', [registerOpenAI]],
  ['llama-server', [registerLlamaServer]],
  ['admin', [registerAdmin]],
];

/**
 * http/ owns the wire: parse (zod), call one gateway verb, render in the caller's dialect.
 * Requests first pass the security checks (Host, Origin and CORS preflights, API keys).
 * Each dialect is a sub-app whose errors are answered in that dialect; recorded routes get
 * a per-request scope (`c.get('record')`, `c.get('signal')`). It imports only gateway/ (its one
 * door to everything below), dialects/ and the shared `errors.ts`.
 */
export function createApp(gw: Gateway, log: Logger, drain = new Drain()): Hono {
  const app = new Hono({ getPath: canonicalPath });
  const { server } = gw.config;
  const limit = server.body_limit;

  // Before anything reads a body or does work: who may ask at all (security/). A refusal
  // is answered in the caller's dialect.
  app.use('*', hostCheck({ listen: server.host }));
  app.use('*', cors({ origins: server.origins }));
  app.use('*', apiKeys({ keys: server.api_keys, metricsNeedKey: server.metrics_need_key }));
  // Every request in flight is known, so a stop can let it finish (and refuses new ones).
  app.use('*', drain.middleware());

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
    c.set(BODY_IDLE_MS, server.body_idle_timeout_s * 1000);
    await next();
  });

  for (const [dialect, registers] of DIALECTS) {
    const sub = dialectApp(dialect, log);
    for (const register of registers) register(sub, gw);
    app.route('/', sub);
  }

  app.notFound((c) => errorResponse(c, dialectOf(c.req.path), new WarmgateError('BAD_REQUEST', `no route for ${c.req.method} ${c.req.path}`, { status: 404 })));
  app.onError((err, c) => {
    log.error({ err }, 'unhandled error');
    return errorResponse(c, dialectOf(c.req.path), err);
  });
  return app;
}

/**
 * The path every route, check and record sees: clients build URLs from base URLs, so
 * `//api/chat` and `/api/chat/` are `/api/chat` (Hono's own parsing first: percent-decoding,
 * the query cut). Security classifies this same path, so no spelling reaches a route
 * under another scope.
 */
export function canonicalPath(request: Request): string {
  const path = getPath(request).replace(/\/{2,}/g, '/');
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}
