import type { ServerResponse } from 'node:http';
import type { Context } from 'hono';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { WarmgateError } from '../errors.js';
import type { RequestTimer } from '../gateway/gateway.js';
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
 *
 * Every piece is sent as soon as it is produced; pieces produced in the same turn of the
 * event loop (the lines of one upstream read) leave in one write. Under @hono/node-server
 * the pieces are written straight to Node's response, with no web stream in between;
 * elsewhere (tests calling `app.request`) a web ReadableStream carries them.
 */
export function streamReply<T>(c: Context, values: AsyncIterable<T>, format: StreamFormat<T>): Response {
  const pieces = new Pieces(c, values, format);
  const headers = { 'content-type': format.contentType, 'cache-control': 'no-cache' };
  const outgoing = nodeBindings(c).outgoing;
  if (!outgoing) return webStreamResponse(pieces, headers);
  void writeToNode(pieces, outgoing, headers);
  return RESPONSE_ALREADY_SENT;
}

/**
 * A reply's text pieces, pulled one at a time: each value rendered by the format, then its
 * end piece, or its error piece after a failure; the outcome on the record. A plain class
 * with one async method, not an async generator: a streamed reply passes every upstream
 * line through it, and a generator layer costs several promise turns per line more.
 */
class Pieces<T> {
  readonly #c: Context;
  readonly #it: AsyncIterator<T>;
  readonly #format: StreamFormat<T>;
  readonly #record: RequestTimer | undefined;
  #over = false;

  constructor(c: Context, values: AsyncIterable<T>, format: StreamFormat<T>) {
    this.#c = c;
    this.#it = values[Symbol.asyncIterator]();
    this.#format = format;
    this.#record = c.get('record');
  }

  /** The next piece to send; undefined once the reply is over. Throws only for an unrecorded passthrough that broke (it is cut off). */
  async next(): Promise<string | undefined> {
    if (this.#over) return undefined;
    try {
      const r = await this.#it.next();
      if (!r.done) return this.#format.piece(r.value);
      this.#over = true;
      this.#record?.finish(200);
      return this.#format.end;
    } catch (err) {
      this.#over = true;
      if (!this.#record) throw err;
      const e = streamFailure(this.#record, stopReason(this.#c) ?? err);
      return e ? this.#format.error(e) : undefined;
    }
  }

  /** The client left: recorded as 499, the request's signal fires (aborting the upstream), the values are closed. */
  cancel(): void {
    if (this.#over) return;
    this.#over = true;
    this.#record?.finish(499, { message: 'client disconnected', code: 'WG_CLIENT_CLOSED' });
    this.#c.get('cancel')?.();
    void this.#it.return?.();
  }
}

async function writeToNode(pieces: Pieces<unknown>, out: ServerResponse, headers: Record<string, string>): Promise<void> {
  let gone = false;
  out.once('close', () => {
    if (out.writableFinished) return;
    gone = true;
    pieces.cancel();
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
    for (let piece = await pieces.next(); piece !== undefined && !gone; piece = await pieces.next()) {
      wrote = true;
      if (out.writableCorked === 0) {
        out.cork();
        process.nextTick(uncork);
      }
      if (!out.write(piece)) await drainedOrClosed(out);
    }
    if (!gone) out.end();
  } catch (err) {
    // The routes turn failures into their dialect's error piece; this one is cut off as it broke.
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

function webStreamResponse(pieces: Pieces<unknown>, headers: Record<string, string>): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const piece = await pieces.next();
          if (piece === undefined) controller.close();
          else controller.enqueue(encoder.encode(piece));
        } catch (err) {
          controller.error(err);
        }
      },
      cancel() {
        pieces.cancel();
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
