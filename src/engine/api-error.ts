/**
 * Errors in llama-server's (OpenAI-compatible) shape:
 * `{"error":{"code":400,"message":"...","type":"invalid_request_error"}}`.
 * Bad JSON and bodies that fail validation are 400s; anything unexpected is a 500.
 */
import type { Context } from 'hono';
import { z } from 'zod';
import { WarmgateError, toWarmgateError } from '../errors.js';

export interface ErrorBody {
  error: { code: number; message: string; type: string };
}

/** llama-server's `type` for each status it uses. */
function errorType(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 404:
      return 'not_found_error';
    case 501:
      return 'not_supported_error';
    case 503:
      return 'unavailable_error';
    default:
      return 'server_error';
  }
}

/** The body and status for anything thrown while serving a request. */
export function toErrorBody(err: unknown): ErrorBody {
  const e = err instanceof z.ZodError ? new WarmgateError('BAD_REQUEST', describeIssues(err)) : toWarmgateError(err);
  return { error: { code: e.status, message: e.message, type: errorType(e.status) } };
}

/** Parses the JSON body against `schema`; throws a 400 WarmgateError or ZodError when it does not fit. */
export async function readBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch (err) {
    throw new WarmgateError('BAD_JSON', `invalid JSON body: ${err instanceof Error ? err.message : String(err)}`);
  }
  return schema.parse(raw);
}

function describeIssues(err: z.ZodError): string {
  return err.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}
