import type { WarmgateError } from '../errors.js';

/** The dialects an error can be answered in (`admin` is the gateway's own JSON, Ollama's shape). */
export type ErrorDialect = 'ollama' | 'openai' | 'llama-server' | 'admin';

/** OpenAI's and llama-server's `type` for each status; other 5xx are `server_error`, other 4xx `invalid_request_error`. */
const TYPES: Record<number, string> = {
  400: 'invalid_request_error', 401: 'authentication_error', 403: 'permission_error', 404: 'not_found_error', 413: 'invalid_request_error', 429: 'rate_limit_error',
  499: 'request_cancelled', 501: 'not_supported_error',
};

/** OpenAI's own codes, which its clients match on. */
const OPENAI_CODES: Record<string, string> = { WG_MODEL_NOT_FOUND: 'model_not_found', WG_CONTEXT_LENGTH: 'context_length_exceeded' };

/**
 * An error reply's body in a dialect: Ollama `{"error": "..."}`; OpenAI and llama-server
 * `{"error": {"message", "type", "code"}}` (llama-server's code is the HTTP status, and it
 * names a 503 `unavailable_error`; an unknown model is OpenAI's own `model_not_found`, a prompt over the context `context_length_exceeded`). The gateway's routes and the worker both answer with it.
 */
export function errorBody(dialect: ErrorDialect, err: WarmgateError): Record<string, unknown> {
  if (dialect === 'ollama' || dialect === 'admin') return { error: err.message };
  const llama = dialect === 'llama-server';
  const type = llama && err.status === 503 ? 'unavailable_error' : TYPES[err.status] ?? (err.status >= 500 ? 'server_error' : 'invalid_request_error');
  return { error: { message: err.message, type, code: llama ? err.status : OPENAI_CODES[err.code] ?? err.code } };
}
