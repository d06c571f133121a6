/**
 * Every error the gateway raises on purpose carries a stable `code` (like undici's
 * `UND_ERR_*`) and the HTTP status it maps to. Routes render it in the client's dialect.
 */
export const ErrorCodes = {
  BAD_JSON: 400,
  BAD_REQUEST: 400,
  /** A prompt longer than the largest context the model may have (its own, or the config's cap). */
  CONTEXT_LENGTH: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  MODEL_NOT_FOUND: 404,
  /** A client stopped sending the body it declared. */
  REQUEST_TIMEOUT: 408,
  BODY_TOO_LARGE: 413,
  QUEUE_FULL: 429,
  /** An admin load cancelled by an admin unload sent while it ran. */
  LOAD_CANCELLED: 409,
  CLIENT_CLOSED: 499,
  UPSTREAM_ERROR: 500,
  UPSTREAM_UNREACHABLE: 502,
  BACKEND_CRASHED: 502,
  LOAD_FAILED: 503,
  /** A backend's circuit breaker is open: it stopped answering, and requests to it fail at once until a probe reaches it. */
  BACKEND_DOWN: 503,
  DOES_NOT_FIT: 503,
  UNAVAILABLE: 503,
  UPSTREAM_TIMEOUT: 504,
  LOAD_TIMEOUT: 504,
  NOT_SUPPORTED: 501,
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class WarmgateError extends Error {
  readonly code: `WG_${ErrorCode}`;
  readonly status: number;
  /** Seconds a client should wait before retrying (sent as `Retry-After`). */
  readonly retryAfter?: number;
  /** The upstream itself answered with this error (a whole reply): it was alive to say it. */
  readonly replied: boolean;

  constructor(code: ErrorCode, message: string, opts: { status?: number; retryAfter?: number; cause?: unknown; replied?: boolean } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'WarmgateError';
    this.code = `WG_${code}`;
    this.status = opts.status ?? ErrorCodes[code];
    this.retryAfter = opts.retryAfter;
    this.replied = opts.replied ?? false;
  }
}

/*
 * One wording per failure: each failure that can reach a client on several routes (or be
 * found at several places on its way) is made here, so every route and dialect says it
 * the same way (the dialects differ only in the error's shape).
 */

/** The client went away (closed its connection, or cancelled) before its reply was complete. */
export function clientClosed(cause?: unknown): WarmgateError {
  return new WarmgateError('CLIENT_CLOSED', 'the client closed the request', { cause });
}

/** Stopping: every request refused or cut short by a stop; Retry-After 5 s, about what a restart takes. */
export function shuttingDown(): WarmgateError {
  return new WarmgateError('UNAVAILABLE', 'the gateway is shutting down', { retryAfter: 5 });
}

/** A backend ended its reply cleanly but before its final piece (its runner quit, a proxy cut it): not a complete answer. */
export function replyCutShort(): WarmgateError {
  return new WarmgateError('UPSTREAM_ERROR', 'the backend ended its reply before its final piece', { status: 502 });
}

/**
 * A backend taken out by its circuit breaker (`backends.X.breaker`): `failures` calls in a
 * row could not reach it; `retryAfterS` is the time until the next probe.
 */
export function backendDown(backend: string, state: 'open' | 'half-open', failures: number, retryAfterS: number): WarmgateError {
  const next = state === 'open' ? `the next probe is in ${retryAfterS}s` : 'a probe is checking it now';
  return new WarmgateError('BACKEND_DOWN', `backend ${backend} is down: its circuit breaker is ${state} after ${failures} failed connection attempts; ${next}`, { retryAfter: retryAfterS });
}

/** Ollama's own wording (clients match on it to offer a pull); OpenAI's `code` is `model_not_found` (see dialects/error-body.ts). */
export function modelNotFound(name: string): WarmgateError {
  return new WarmgateError('MODEL_NOT_FOUND', `model '${name}' not found`);
}

export function isWarmgateError(err: unknown): err is WarmgateError {
  return err instanceof WarmgateError;
}

/** Normalises anything thrown into a WarmgateError, keeping the original as `cause`. */
export function toWarmgateError(err: unknown): WarmgateError {
  if (err instanceof WarmgateError) return err;
  if (err instanceof Error && err.name === 'AbortError') return clientClosed(err);
  if ((err as { code?: unknown } | undefined)?.code === 'UND_ERR_BODY_TIMEOUT') {
    return new WarmgateError('UPSTREAM_TIMEOUT', 'the backend went silent in the middle of its reply (server.upstream_idle_timeout_s)', { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new WarmgateError('UPSTREAM_ERROR', message, { cause: err });
}
