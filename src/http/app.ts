import { Hono } from 'hono';
import { getPath } from 'hono/utils/url';
import type { Logger } from 'pino';
import type { Gateway } from '../gateway/gateway.js';
import { WarmgateError } from '../errors.js';
import type { Dialect } from '../gateway/gateway.js';
import { registerAdmin } from './admin/admin-routes.js';
import { admission, bodyLimit } from './admission.js';
import { dialectOf, errorResponse } from './errors.js';
import { registerLlamaServer } from './llama-server/llama-routes.js';
import { registerOllamaCatalog } from './ollama/catalog-routes.js';
import { registerOllamaEmbed } from './ollama/embed-routes.js';
import { registerOllamaGenerate } from './ollama/generate-routes.js';
import { registerOpenAI } from './openai/openai-routes.js';
import { Drain } from './drain.js';
import { answerInDialect } from './request-scope.js';
import { apiKeys } from './security/api-keys.js';
import { cors } from './security/cors.js';
import { hostCheck } from './security/host-check.js';

/** Each dialect's routes, registered on its sub-app. */
const DIALECTS: Record<Dialect, Array<(app: Hono, gw: Gateway) => void>> = {
  ollama: [registerOllamaCatalog, registerOllamaGenerate, registerOllamaEmbed],
  openai: [registerOpenAI],
  'llama-server': [registerLlamaServer],
  admin: [registerAdmin],
};

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

  // Before anything reads a body or does work, in this order: who may ask at all
  // (security/: Host, Origin and CORS preflights, API keys), whether the gateway is
  // stopping, and the body limit. Every request that passes is in flight for the drain.
  app.use('*', admission([
    hostCheck({ listen: server.host }),
    cors({ origins: server.origins }),
    apiKeys({ keys: server.api_keys, metricsNeedKey: server.metrics_need_key }),
    drain.refuseWhileStopping,
    bodyLimit({ limit: server.body_limit, idleMs: server.body_idle_timeout_s * 1000 }),
  ], drain));

  for (const registers of Object.values(DIALECTS)) {
    const sub = new Hono();
    for (const register of registers) register(sub, gw);
    app.route('/', sub);
  }

  app.notFound((c) => errorResponse(c, dialectOf(c.req.path), new WarmgateError('BAD_REQUEST', `no route for ${c.req.method} ${c.req.path}`, { status: 404 })));
  app.onError(answerInDialect(log));
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
