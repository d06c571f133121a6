import { WarmgateError } from '../errors.js';

/**
 * The message of an error object an upstream sent in place of a reply or mid-stream:
 * Ollama's `{"error": "..."}`, or OpenAI's / llama-server's `{"error": {"message": ...}}`.
 * Undefined when `obj` is not an error object.
 */
export function upstreamErrorMessage(obj: unknown): string | undefined {
  if (typeof obj !== 'object' || obj === null || !('error' in obj)) return undefined;
  const error = (obj as { error: unknown }).error;
  if (typeof error === 'string') return error;
  if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') {
    return (error as { message: string }).message;
  }
  return JSON.stringify(error);
}

/** Throws UPSTREAM_ERROR carrying the upstream's own message when `obj` is an error object. */
export function throwIfUpstreamError(obj: unknown): void {
  const message = upstreamErrorMessage(obj);
  if (message !== undefined) throw new WarmgateError('UPSTREAM_ERROR', message);
}
