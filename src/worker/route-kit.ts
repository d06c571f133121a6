/**
 * What the worker's routes share: the Hono environment (the ready Engine, set by the
 * loading gate in app.ts), the engine's generator/embedder with llama-server's 501 when the
 * worker was started for the other kind of work, and Server-Sent Events streaming. The
 * bodies they parse and the replies they render are `dialects/`'s.
 */
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Logger } from 'pino';
import { WarmgateError } from '../errors.js';
import { errorBody } from '../dialects/error-body.js';
import { toApiError } from './api-error.js';
import type { Embedder } from './embedder.js';
import type { Engine } from './engine.js';
import type { Generator } from './generator.js';

export interface WorkerEnv {
  Variables: { engine: Engine; log: Logger };
}

export type WorkerContext = Context<WorkerEnv>;

export function generatorOf(c: WorkerContext): Generator {
  const generator = c.get('engine').generator;
  if (!generator) {
    throw new WarmgateError('NOT_SUPPORTED', 'This server does not support completions. Start it without `--embeddings`');
  }
  return generator;
}

export function embedderOf(c: WorkerContext): Embedder {
  const embedder = c.get('engine').embedder;
  if (!embedder) {
    throw new WarmgateError('NOT_SUPPORTED', 'This server does not support embeddings. Start it with `--embeddings`');
  }
  return embedder;
}

/** Aborts when the client disconnects, so its generation stops and frees the slot. */
export function clientSignal(c: WorkerContext): AbortSignal {
  return c.req.raw.signal;
}

/**
 * The error body for a failed request, logged: unexpected failures (500) as errors, and a
 * client that disconnected (its generation was aborted and its slot freed) as info.
 */
export function reportFailure(c: WorkerContext, err: unknown): { status: number; body: Record<string, unknown> } {
  const e = toApiError(err);
  const log = c.get('log');
  if (clientSignal(c).aborted) log.info({ path: c.req.path }, 'client disconnected: generation aborted');
  else if (e.status === 500) log.error({ err, path: c.req.path }, 'request failed');
  return { status: e.status, body: errorBody('llama-server', e) };
}

/** Queues one `data:` event; events reach the client in the order they were emitted. */
export type Emit = (event: object | string) => void;

/**
 * Streams `produce`'s events as SSE (`data: <json>` lines). An error after the stream has
 * started can no longer change the status, so it is sent as a `data: {"error":...}` event,
 * as llama-server does; nothing is sent once the client has gone.
 */
export function streamEvents(c: WorkerContext, produce: (emit: Emit) => Promise<void>): Response {
  return streamSSE(c, async (stream) => {
    let written = Promise.resolve();
    const emit: Emit = (event) => {
      const data = typeof event === 'string' ? event : JSON.stringify(event);
      written = written.then(() => stream.writeSSE({ data }));
    };
    try {
      await produce(emit);
    } catch (err) {
      const { body } = reportFailure(c, err);
      if (!clientSignal(c).aborted) emit(body);
    }
    await written;
  });
}
