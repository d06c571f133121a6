/**
 * The worker's errors, answered in llama-server's shape (`dialects/error-body.ts`):
 * bad JSON and bodies that fail validation are 400s; anything unexpected is a 500.
 */
import type { Context } from 'hono';
import { z } from 'zod';
import { WarmgateError, toWarmgateError } from '../errors.js';

/** The error for anything thrown while serving a request (a failed validation is a 400). */
export function toApiError(err: unknown): WarmgateError {
  return err instanceof z.ZodError ? new WarmgateError('BAD_REQUEST', describeIssues(err)) : toWarmgateError(err);
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
