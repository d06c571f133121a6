import type { ServerResponse } from 'node:http';
import type { Context } from 'hono';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { WarmgateError } from '../errors.js';
import { streamFailure } from './errors.js';
import { stopReason } from './drain.js';
import { nodeBindings } from './node-request.js';

/** How a dialect writes a stream: its content type, each piece, an error after the 200, and an optional last piece. */
export interface StreamFormat<T> {
  contentType: string;
  piece(value: T): string;
  error(err: WarmgateError): string;
  end?: string;
}

/** Every value of a non-streamed reply, in order (the gateway releases its lease when they end). */
export async function collect<T>(values: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const value of values) all.push(value);
  return all;
}

/**
 * Every streamed reply goes out here, so none can forget its outcome: the record (when the
 * route has one) is finished with 200 at the end; a failure after the 200 is recorded and
 * sent as the dialect's error piece; a client that leaves is recorded as 499 and the
 * request's signal fires, which aborts the upstream call (the gateway releases its lease).
 */
export function streamReply<T>(c: Context, values: AsyncIterable<T>, format: StreamFormat<T>): Response {
  const record = c.get('record');
  const pieces = (async function* () {
    try {
      for await (const value of values) yield format.piece(value);
      if (format.end) yield format.end;
      record?.finish(200);
    } catch (err) {
      if (!record) throw err; // an unrecorded passthrough (daemon management) is cut off as it broke
      const e = streamFailure(record, stopReason(c) ?? err);
      if (e) yield format.error(e);
    }
  })();
  return streamResponse(c, pieces, format.contentType, () => {
    record?.finish(499, { message: 'client disconnected', code: 'WG_CLIENT_CLOSED' });
    c.get('cancel')?.();
  });
}

/**
 * A streamed 200 reply fed by an async iterable of text pieces. Every piece is sent as soon
 * as it is produced; pieces produced in the same turn of the event loop (the lines of one
 * upstream read) leave in one write. If the client goes away first, `onCancel` runs (it
 * aborts the upstream) and the source iterator is closed.
 *
 * Under @hono/node-server the pieces are written straight to Node's response, with no web
 * stream in between; elsewhere (tests calling `app.request`) a web ReadableStream carries them.
 */
function streamResponse(c: Context, source: AsyncIterable<string>, contentType: string, onCancel: () => void, headers: Record<string, string> = {}): Response {
  const all = { 'content-type': contentType, 'cache-control': 'no-cache', ...headers };
  const outgoing = nodeBindings(c).outgoing;
  if (!outgoing) return webStreamResponse(source, all, onCancel);
  void writeToNode(source, outgoing, all, onCancel);
  return RESPONSE_ALREADY_SENT;
}

async function writeToNode(source: AsyncIterable<string>, out: ServerResponse, headers: Record<string, string>, onCancel: () => void): Promise<void> {
  const it = source[Symbol.asyncIterator]();
  let gone = false;
  out.once('close', () => {
    if (out.writableFinished) return;
    gone = true;
    onCancel();
    void it.return?.();
  });
  // The headers leave with the first piece when it is ready in this turn (one write), and
  // on their own otherwise: a client waiting for headers must not wait for the first token.
  out.writeHead(200, headers);
  let wrote = false;
  process.nextTick(() => {
    if (!wrote && !gone) out.flushHeaders();
  });
  const uncork = () => out.uncork();
  try {
    for (let r = await it.next(); !r.done && !gone; r = await it.next()) {
      wrote = true;
      if (out.writableCorked === 0) {
        out.cork();
        process.nextTick(uncork);
      }
      if (!out.write(r.value)) await drainedOrClosed(out);
    }
    if (!gone) out.end();
  } catch (err) {
    // The routes turn failures into their dialect's error event; this is a bug, not a reply.
    out.destroy(err as Error);
  }
}

function drainedOrClosed(out: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}

function webStreamResponse(source: AsyncIterable<string>, headers: Record<string, string>, onCancel: () => void): Response {
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
  return new Response(body, { status: 200, headers });
}


/**
 * An AbortSignal that fires when the client disconnects before its reply is complete. Under
 * @hono/node-server it listens on Node's response (cheaper than the web Request's signal);
 * elsewhere (tests calling `app.request`) on the request's signal.
 */
export function requestAbort(c: Context): AbortController {
  const controller = new AbortController();
  const outgoing = nodeBindings(c).outgoing;
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
