import { z } from 'zod';

/**
 * Field schemas the dialect schemas share. Messages are written for the client: routes
 * render them as the dialect's error body, prefixed with the field path.
 */

/** The `model` field every dialect but llama-server's native one requires. */
export const modelField = z
  .string({ error: (iss) => (iss.input === undefined ? 'model is required' : 'model must be a string') })
  .min(1, 'model is required');

/**
 * `string | string[]` (embedding inputs, prompts). Token arrays are refused with a message
 * saying so: the gateway cannot tokenize for every backend.
 */
export function textOrTexts(field: string) {
  return z.union([z.string(), z.array(z.string())], {
    error: (iss) =>
      isTokenArray(iss.input)
        ? `${field} as token arrays is not supported; send text`
        : `${field} must be a string or an array of strings`,
  });
}

function isTokenArray(value: unknown): boolean {
  return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'number' || Array.isArray(v));
}

/** A string, or a one-element array of strings, as OpenAI's and llama-server's `prompt`; refuses batches and tokens. */
export function singleText(field: string) {
  return textOrTexts(field).refine((v) => typeof v === 'string' || v.length === 1, {
    message: `${field} must be a single string; several prompts in one request are not supported`,
  });
}

/** The text of a `singleText` field. */
export function theText(value: string | string[]): string {
  return typeof value === 'string' ? value : value[0];
}

/**
 * `string | <other>` whose error explains what is wrong inside `other` (e.g. the bad
 * content part of a message) instead of zod's bare "Invalid input" for unions.
 */
export function stringOr<T extends z.ZodType>(other: T, message: string) {
  return z.union([z.string(), other], { error: (iss) => nestedProblem(iss) ?? message });
}

function nestedProblem(iss: { input?: unknown }): string | undefined {
  const branches = (iss as { errors?: z.core.$ZodIssue[][] }).errors ?? [];
  const deep = branches.find((issues) => issues.length > 0 && issues.every((i) => i.path.length > 0));
  const first = deep?.[0];
  return first ? `${first.path.map(String).join('.')}: ${first.message}` : undefined;
}
