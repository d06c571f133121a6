import type { Context } from 'hono';
import type { z } from 'zod';
import { WarmgateError } from '../errors.js';

/** Reads and parses a JSON body; malformed JSON is a 400 that says what was wrong. */
export async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') throw new WarmgateError('BAD_JSON', 'request body is empty; expected a JSON object');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new WarmgateError('BAD_JSON', `request body is not valid JSON: ${(err as Error).message}`);
  }
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
