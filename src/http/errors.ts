import type { Context } from 'hono';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { errorBody } from '../dialects/error-body.js';
import { toWarmgateError, type WarmgateError } from '../errors.js';
import { nodeBindings } from './node-request.js';
import { serverTiming, type Dialect, type RequestTimer } from '../gateway/gateway.js';

/** Which dialect a path speaks, so errors come back in the shape its clients parse. */
export function dialectOf(path: string): Dialect {
  if (path.startsWith('/v1/')) return 'openai';
  if (path === '/warmgate' || path.startsWith('/warmgate/') || path === '/metrics') return 'admin';
  if (path.startsWith('/api/') || path === '/') return 'ollama';
  return 'llama-server';
}

export function errorResponse(c: Context, dialect: Dialect, thrown: unknown): Response {
  const err = toWarmgateError(thrown);
  const headers: Record<string, string> = {};
  if (err.retryAfter !== undefined) headers['retry-after'] = String(Math.ceil(err.retryAfter));
  // RFC 9110: a 401 names the scheme that would be accepted.
  if (err.status === 401) headers['www-authenticate'] = 'Bearer';
  return c.json(errorBody(dialect, err), err.status as 400, headers);
}

/** A request that failed before its reply started: recorded, then answered in its dialect. */
export function failed(c: Context, dialect: Dialect, timer: RequestTimer, thrown: unknown): Response {
  const err = toWarmgateError(thrown);
  timer.finish(err.status, err);
  return errorResponse(c, dialect, err);
}

/**
 * A streamed reply that broke after its 200 went out: recorded, and returned for the route
 * to send as its dialect's error event — unless the client itself went away (undefined).
 */
export function streamFailure(timer: RequestTimer, thrown: unknown): WarmgateError | undefined {
  const err = toWarmgateError(thrown);
  const gone = err.code === 'WG_CLIENT_CLOSED';
  timer.finish(gone ? 499 : 200, err);
  return gone ? undefined : err;
}

/**
 * A non-streamed success: recorded (`c.get('record')`), then answered with its timing in
 * `Server-Timing`. A string is JSON text already (a passthrough reply, sent as it came).
 * Under @hono/node-server the reply is written straight to Node's response, as streams
 * are: every request pays for a web Response and Headers that the server converts back.
 */
export function answered(c: Context, body: unknown): Response {
  const record = c.get('record');
  record.finish(200);
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const headers = { 'content-type': 'application/json', 'server-timing': serverTiming(record.record) };
  const { outgoing } = nodeBindings(c);
  if (!outgoing) return c.body(text, 200, headers);
  outgoing.writeHead(200, { ...headers, 'content-length': Buffer.byteLength(text) });
  outgoing.end(text);
  return RESPONSE_ALREADY_SENT;
}
