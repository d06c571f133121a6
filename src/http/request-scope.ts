import { Hono, type Context, type MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import { isWarmgateError } from '../errors.js';
import { stopReason } from './drain.js';
import type { Dialect, Gateway, RequestScope, RequestTimer } from '../gateway/gateway.js';
import { errorResponse, failed } from './errors.js';
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
 * One dialect's routes as a sub-app (mounted with `app.route('/', ...)`): anything a route
 * throws is answered in the dialect, and a recorded request's record is finished with it.
 * An error that is not the gateway's own is a bug: logged as well.
 */
export function dialectApp(dialect: Dialect, log: Logger): Hono {
  const app = new Hono();
  app.onError((thrown, c) => {
    const err = stopReason(c) ?? thrown;
    if (!isWarmgateError(err)) log.error({ err }, 'unhandled error');
    const record = c.get('record');
    return record ? failed(c, dialect, record, err) : errorResponse(c, dialect, err);
  });
  return app;
}

/** Starts a request's record under `route` (`c.get('record')`) and its cancel signal (`c.get('signal')`). */
export function recorded(gw: Gateway, dialect: Dialect, route: string): MiddlewareHandler {
  return async (c, next) => {
    c.set('record', gw.record(dialect, route));
    setSignal(c);
    await next();
  };
}

/** Only the cancel signal: a passthrough the gateway does not record (daemon management). */
export const cancellable: MiddlewareHandler = async (c, next) => {
  setSignal(c);
  await next();
};

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
