import type { Context, MiddlewareHandler } from 'hono';
import { WarmgateError } from '../errors.js';
import { BODY_IDLE_MS, BODY_LIMIT, requestHeader, tooLarge } from './body.js';
import type { Drain } from './drain.js';
import { dialectOf, errorResponse } from './errors.js';

/**
 * A check every request passes before any route: a refusal, answered in the caller's
 * dialect, or undefined to let it on. Checks are plain synchronous functions, folded into
 * ONE middleware (`admission`): they run for every request, and each async middleware
 * layer costs a promise and a dispatch step per request (measured by `bench overhead`).
 */
export type Check = (c: Context) => Response | undefined;

/** A refusal in the caller's dialect (the path decides it: no route has run yet). */
export function refuse(c: Context, err: WarmgateError): Response {
  return errorResponse(c, dialectOf(c.req.path), err);
}

/**
 * Runs the checks in order (an absent one is a check that has nothing to check, e.g. keys
 * when none are configured); a request that passes them all is tracked by the drain for
 * as long as it is in flight.
 */
export function admission(checks: ReadonlyArray<Check | undefined>, drain?: Drain): MiddlewareHandler {
  const active = checks.filter((check): check is Check => check !== undefined);
  return async (c, next) => {
    for (const check of active) {
      const refused = check(c);
      if (refused) return refused;
    }
    return drain ? drain.track(c, next) : next();
  };
}

/**
 * A declared length over the limit is refused before anything is read; a chunked body is
 * cut off at the limit while `readJson` reads it. Blob uploads (model files) are exempt.
 * Sets the limits `readJson` applies.
 */
export function bodyLimit(options: { limit: number; idleMs: number }): Check {
  const { limit, idleMs } = options;
  return (c) => {
    if (c.req.path.startsWith('/api/blobs/')) return undefined;
    const declared = Number(requestHeader(c, 'content-length') ?? 0);
    if (declared > limit) {
      // The rest of the body is never read, so the connection cannot be reused.
      c.header('connection', 'close');
      return refuse(c, tooLarge(limit));
    }
    c.set(BODY_LIMIT, limit);
    c.set(BODY_IDLE_MS, idleMs);
    return undefined;
  };
}
