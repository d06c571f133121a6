import type { Context, ErrorHandler } from 'hono';
import type { Logger } from 'pino';
import { isWarmgateError } from '../errors.js';
import { stopReason } from './drain.js';
import type { Dialect, Gateway, RequestScope, RequestTimer } from '../gateway/gateway.js';
import { dialectOf, errorResponse, failed } from './errors.js';
import { requestAbort } from './streaming.js';

declare module 'hono' {
  interface ContextVariableMap {
    /** The request's record, finished exactly once with its outcome. */
    record: RequestTimer;
    /** Fires when the client leaves before its reply is complete. */
    signal: AbortSignal;
    /** Fires `signal` (a streamed reply the client cancelled). */
    cancel: () => void;
  }
}

/**
 * The app's error handler: anything a route throws is answered in the dialect of its path
 * (`dialectOf`: every route of a dialect's sub-app lies under that dialect's paths), and a
 * recorded request's record is finished with it. An error that is not the gateway's own
 * is a bug: logged as well. (One handler on the app, not one per sub-app: Hono wraps every
 * route of a sub-app that has its own in one more compose step per request.)
 */
export function answerInDialect(log: Logger): ErrorHandler {
  return (thrown, c) => {
    const err = stopReason(c) ?? thrown;
    if (!isWarmgateError(err)) log.error({ err }, 'unhandled error');
    const record = c.get('record');
    const dialect = dialectOf(c.req.path);
    return record ? failed(c, dialect, record, err) : errorResponse(c, dialect, err);
  };
}

/** A route handler: what the scope wraps. */
type RouteHandler = (c: Context) => Response | Promise<Response>;

/**
 * A recorded route's handler: its record started under `route` (`c.get('record')`) and its
 * cancel signal set (`c.get('signal')`) before `handler` runs. A wrapper, not a middleware
 * of its own: each middleware is one more compose step for every request.
 */
export function recorded(gw: Gateway, dialect: Dialect, route: string, handler: RouteHandler): RouteHandler {
  return (c) => {
    c.set('record', gw.record(dialect, route));
    setSignal(c);
    return handler(c);
  };
}

/** Only the cancel signal: a passthrough the gateway does not record (daemon management). */
export function cancellable(handler: RouteHandler): RouteHandler {
  return (c) => {
    setSignal(c);
    return handler(c);
  };
}

function setSignal(c: Context): void {
  const abort = requestAbort(c);
  // A stop that gives up waiting ends the request the way a client leaving would, with its reason.
  const stop = c.get('stop');
  if (stop) stop.end = (reason) => abort.abort(reason);
  c.set('signal', abort.signal);
  c.set('cancel', () => abort.abort());
}

/** The scope a gateway verb takes, from the context (`c.get`: reading `c.var` copies every variable). */
export function scopeOf(c: Context): RequestScope {
  return { record: c.get('record'), signal: c.get('signal') };
}
