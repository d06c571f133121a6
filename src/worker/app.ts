/**
 * The worker's HTTP app. Until the engine is ready every route answers llama-server's
 * 503 "Loading model" (so `/health` can be polled while the model loads); after that
 * requests reach the native and OpenAI routes with the engine in the context.
 */
import { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Engine } from './engine.js';
import { reportFailure, type WorkerEnv } from './route-kit.js';
import { nativeRoutes } from './routes-native.js';
import { openAiRoutes } from './routes-openai.js';

const loading = { error: { code: 503, message: 'Loading model', type: 'unavailable_error' } };
const notFound = { error: { code: 404, message: 'File Not Found', type: 'not_found_error' } };

/** `engine()` returns undefined while the model loads. */
export function createWorkerApp(engine: () => Engine | undefined, log: Logger): Hono<WorkerEnv> {
  const app = new Hono<WorkerEnv>();

  app.use('*', async (c, next) => {
    const ready = engine();
    if (!ready) return c.json(loading, 503);
    c.set('engine', ready);
    c.set('log', log);
    await next();
  });

  app.route('/', nativeRoutes());
  app.route('/', openAiRoutes());

  app.notFound((c) => c.json(notFound, 404));

  app.onError((err, c) => {
    const { status, body } = reportFailure(c, err);
    return c.json(body, status as 500);
  });

  return app;
}
