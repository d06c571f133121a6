import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import type { z } from 'zod';
import { clientClosed, WarmgateError } from '../errors.js';
import { nodeBindings } from './node-request.js';

/** Set by the body-limit middleware; read by `readJson`. */
export const BODY_LIMIT = 'bodyLimit';
/** Set beside it: how long a body may stall between chunks. */
export const BODY_IDLE_MS = 'bodyIdleMs';

declare module 'hono' {
  interface ContextVariableMap {
    bodyLimit: number;
    bodyIdleMs: number;
  }
}

/**
 * A request header, read from Node's request when there is one: asking Hono's request
 * would build the whole web Headers object first.
 */
export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = nodeBindings(c).incoming;
  if (!incoming) return c.req.header(name);
  const value = incoming.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

export function tooLarge(limit: number): WarmgateError {
  return new WarmgateError('BODY_TOO_LARGE', `request body is larger than the limit of ${limit} bytes (server.body_limit)`);
}

/**
 * The body as text, at most `server.body_limit` bytes. Read straight from Node's request
 * (no web Request and stream are built on the hot path); a chunked body over the limit
 * stops being read at the limit.
 */
async function readText(c: Context): Promise<string> {
  const limit: number | undefined = c.get(BODY_LIMIT);
  const incoming = nodeBindings(c).incoming;
  if (!incoming) {
    const text = await c.req.text();
    if (limit !== undefined && Buffer.byteLength(text) > limit) throw tooLarge(limit);
    return text;
  }
  return readIncoming(c, incoming, limit, c.get(BODY_IDLE_MS));
}

/**
 * Node's request body as text, by events (cheaper per request than an async iterator). A
 * client that declared a body and stops sending it for `idleMs` is refused with 408 and
 * its connection closed after the reply (its socket's timeout covers only this read).
 */
function readIncoming(c: Context, incoming: IncomingMessage, limit: number | undefined, idleMs: number | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    // Node's server destroys a timed-out socket unless the request takes the 'timeout' event.
    const watched = idleMs === undefined ? undefined : incoming;
    const onIdle = () => {
      cleanup();
      c.header('connection', 'close'); // the rest of the body is never read
      reject(new WarmgateError('REQUEST_TIMEOUT', `the client sent no more of its request body for ${idleMs! / 1000} s (server.body_idle_timeout_s)`));
    };
    watched?.setTimeout(idleMs!).on('timeout', onIdle);
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (limit !== undefined && size > limit) {
        cleanup();
        incoming.resume(); // the rest is discarded, not buffered
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks, size).toString('utf8'));
    };
    // A client that closes mid-body makes Node emit 'error' (`aborted`, ECONNRESET) before
    // 'close': the client left (499), whatever the error says.
    const onError = (err: Error) => {
      cleanup();
      reject(incoming.complete ? err : clientClosed(err));
    };
    const onAborted = () => onError(clientClosed());
    const cleanup = () => {
      watched?.setTimeout(0).off('timeout', onIdle);
      incoming.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    };
    // A body cut short closes the request without 'end'.
    const onClose = () => {
      if (!incoming.complete) onAborted();
    };
    incoming.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
    if (incoming.destroyed && !incoming.complete) onAborted(); // closed before the read began: no event will come
  });
}


/**
 * Deepest nesting of arrays and objects a body may have. Real requests (messages, tool
 * schemas) nest a few levels; a body thousands deep overflows the stack of whatever walks
 * it recursively (the passthrough's re-serialisation here, a backend's parser there).
 */
export const MAX_JSON_DEPTH = 512;

/** Reads and parses a JSON body; malformed JSON, or JSON nested past MAX_JSON_DEPTH, is a 400 that says what was wrong. */
export async function readJson(c: Context): Promise<unknown> {
  const text = await readText(c);
  if (text.trim() === '') throw new WarmgateError('BAD_JSON', 'request body is empty; expected a JSON object');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new WarmgateError('BAD_JSON', `request body is not valid JSON: ${(err as Error).message}`);
  }
  if (!fewOpenings(text, MAX_JSON_DEPTH) && !withinDepth(value, MAX_JSON_DEPTH)) throw new WarmgateError('BAD_JSON', `request body is nested deeper than ${MAX_JSON_DEPTH} levels`);
  return value;
}

/**
 * Whether the text opens at most `limit` arrays and objects (brackets inside strings count
 * too): then nothing in it can nest deeper, since each level opens one. Found natively
 * (indexOf), so the common body skips the walk below.
 */
function fewOpenings(text: string, limit: number): boolean {
  let opened = 0;
  for (const bracket of ['{', '[']) {
    for (let i = text.indexOf(bracket); i >= 0; i = text.indexOf(bracket, i + 1)) if (++opened > limit) return false;
  }
  return true;
}

/** Whether no array or object in `value` sits deeper than `limit` (iterative: the walk itself must not overflow). */
function withinDepth(value: unknown, limit: number): boolean {
  const pending: Array<[object, number]> = [];
  const visit = (v: unknown, depth: number) => {
    if (v !== null && typeof v === 'object') pending.push([v, depth]);
  };
  visit(value, 1);
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [node, depth] = next;
    if (depth > limit) return false;
    for (const child of Array.isArray(node) ? node : Object.values(node)) visit(child, depth + 1);
  }
  return true;
}

/** A body that must be a JSON object (`null`, an array or a number is a 400, not a crash further on). */
export async function readJsonObject(c: Context): Promise<Record<string, unknown>> {
  const value = await readJson(c);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new WarmgateError('BAD_REQUEST', `request body must be a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  return value as Record<string, unknown>;
}

/** Parses with a zod schema; the first problems become one readable 400 message. */
export function validate<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, 3).map((i) => `${i.path.map(String).join('.') || 'body'}: ${i.message}`);
  throw new WarmgateError('BAD_REQUEST', `invalid request: ${problems.join('; ')}`);
}

export async function readBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  return validate(schema, await readJson(c));
}
