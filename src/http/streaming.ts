import type { ServerResponse } from 'node:http';
import type { Context } from 'hono';

/**
 * A streamed reply fed by an async iterable of text pieces. Each piece is flushed as soon
 * as it is produced (no buffering, highWaterMark 0). If the client goes away, `onCancel`
 * runs (it aborts the upstream) and the source iterator is closed.
 */
export function streamResponse(source: AsyncIterable<string>, contentType: string, onCancel: () => void, headers: Record<string, string> = {}): Response {
  const it = source[Symbol.asyncIterator]();
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { value, done } = await it.next();
          if (done) controller.close();
          else controller.enqueue(encoder.encode(value));
        } catch (err) {
          controller.error(err);
        }
      },
      async cancel() {
        onCancel();
        await it.return?.();
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status: 200, headers: { 'content-type': contentType, 'cache-control': 'no-cache', ...headers } });
}

/**
 * An AbortSignal that fires when the client disconnects before its reply is complete. Under
 * @hono/node-server it listens on Node's response (cheaper than the web Request's signal);
 * elsewhere (tests calling `app.request`) on the request's signal.
 */
export function requestAbort(c: Context): AbortController {
  const controller = new AbortController();
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  if (outgoing) {
    outgoing.once('close', () => {
      if (!outgoing.writableFinished) controller.abort();
    });
    return controller;
  }
  const clientSignal = c.req.raw.signal;
  if (clientSignal.aborted) controller.abort();
  else clientSignal.addEventListener('abort', () => controller.abort(), { once: true });
  return controller;
}
