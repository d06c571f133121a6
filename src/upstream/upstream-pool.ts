import { Pool, errors as undiciErrors } from 'undici';
import { Readable } from 'node:stream';
import { clientClosed, WarmgateError } from '../errors.js';
import { CircuitBreaker, type BreakerSettings } from './circuit-breaker.js';

/*
 * upstream/ owns the HTTP client side: pools, raw calls, reading and mapping errors. It
 * imports only `errors.ts`; the backends and the gateway's passthrough use it.
 */

/** A raw reply from an upstream, body not yet read. */
export interface UpstreamReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

/** A call in an upstream's own dialect. */
export interface RawCall {
  method: 'GET' | 'POST' | 'DELETE' | 'HEAD';
  path: string;
  /** A JSON body. */
  body?: unknown;
  /** A raw body streamed as is (Ollama blob uploads), with its content type. */
  raw?: { body: AsyncIterable<Uint8Array>; contentType: string };
  signal?: AbortSignal;
}

/** How long a backend may stay silent. */
export interface UpstreamTimeouts {
  /** Before its reply's headers (a cold load counts); must not be shorter than the clients' own timeouts. */
  firstByteMs: number;
  /** Between two pieces of its reply (a long prompt being evaluated counts); 0 = no limit. */
  idleMs: number;
}

export interface PoolOptions {
  timeouts: UpstreamTimeouts;
  /** Backend name, for error messages. */
  backend: string;
  /** Sent on every call (credentials for a daemon behind an auth proxy); a client's own headers never are. */
  headers?: Record<string, string>;
  /** Take the origin out after failures to reach it; `probePath` is the cheap GET that checks it is back. Absent: no breaker. */
  breaker?: { settings: BreakerSettings; probePath: string };
}

/** The longest a breaker's probe waits for a reply: a daemon that is up answers its version at once, even while it loads. */
const PROBE_TIMEOUT_MS = 10_000;

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'content-length']);

/**
 * One undici pool per upstream origin with keep-alive connections. The Host header is
 * always the upstream's own origin (never the client's), which is what Ollama's
 * loopback host check wants. A reply may stream as long as it needs, but a backend that
 * stalls between two pieces for `timeouts.idleMs` ends it with UPSTREAM_TIMEOUT. With a
 * breaker, a call that cannot reach the origin (refused, reset, no reply in time) counts
 * towards taking it out; once out every call is refused at once (BACKEND_DOWN) until the
 * probe this pool sends at the end of the back-off gets a reply. A reply already streaming
 * is never cut by the breaker: it gates calls, not bodies.
 */
export class UpstreamPool {
  readonly origin: string;
  readonly breaker: CircuitBreaker | undefined;
  readonly #pool: Pool;
  readonly #backend: string;
  readonly #headers: Record<string, string>;
  readonly #probePath: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #timerAt: number | undefined;
  #closed = false;

  constructor(url: string, opts: PoolOptions) {
    const u = new URL(url);
    this.origin = u.origin;
    this.#backend = opts.backend;
    this.#headers = opts.headers ?? {};
    this.#pool = new Pool(this.origin, {
      keepAliveTimeout: 30_000,
      headersTimeout: opts.timeouts.firstByteMs,
      bodyTimeout: opts.timeouts.idleMs,
      connectTimeout: 10_000,
    });
    if (opts.breaker) {
      this.breaker = new CircuitBreaker(opts.backend, opts.breaker.settings, { now: () => performance.now() });
      this.#probePath = opts.breaker.probePath;
    }
  }

  async request(call: RawCall): Promise<UpstreamReply> {
    const headers: Record<string, string> = { ...this.#headers, accept: 'application/json' };
    let body: string | Readable | undefined;
    if (call.raw) {
      headers['content-type'] = call.raw.contentType;
      body = Readable.from(call.raw.body);
    } else if (call.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(call.body);
    }
    const breaker = this.breaker;
    breaker?.admit();
    try {
      const res = await this.#pool.request({ method: call.method, path: call.path, headers, body, signal: call.signal });
      breaker?.passed();
      return { status: res.statusCode, headers: cleanHeaders(res.headers), body: res.body as unknown as Readable };
    } catch (err) {
      const mapped = this.#mapError(err);
      // A call its caller ended (a client that left, the caller's own deadline) says nothing of the backend.
      if (breaker && !call.signal?.aborted && unreached(mapped)) {
        breaker.failed();
        this.#arm();
      }
      throw mapped;
    }
  }

  /** Reads a whole JSON reply; non-2xx replies become errors carrying the upstream's status and message. */
  async json<T = Record<string, unknown>>(call: RawCall): Promise<T> {
    const res = await this.request(call);
    const text = await readText(res.body);
    if (res.status >= 400) throw upstreamStatusError(res.status, text, this.#backend);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new WarmgateError('UPSTREAM_ERROR', `backend ${this.#backend} sent a reply that is not JSON: ${text.slice(0, 200)}`, { status: 502 });
    }
  }

  close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    return this.#pool.close();
  }

  /** Keeps one timer at the breaker's next wake-up (the end of its back-off); when it fires, the probe goes. */
  #arm(): void {
    const at = this.breaker!.nextWakeAt();
    if (this.#closed || at === this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    if (at === undefined) return;
    this.#timer = setTimeout(() => {
      this.#timerAt = undefined;
      if (this.breaker!.tick()) void this.#probe();
      else this.#arm();
    }, Math.max(0, at - performance.now()));
    this.#timer.unref();
  }

  /** The half-open probe: any reply closes the breaker, none opens it again (the breaker lengthens the back-off). */
  async #probe(): Promise<void> {
    let ok = false;
    try {
      const res = await this.#pool.request({ method: 'GET', path: this.#probePath!, headers: this.#headers, headersTimeout: PROBE_TIMEOUT_MS });
      res.body.resume();
      ok = true;
    } catch {
      // not reached: stays out
    }
    this.breaker!.probeDone(ok);
    this.#arm();
  }

  #mapError(err: unknown): Error {
    if (err instanceof Error && (err.name === 'AbortError' || err instanceof undiciErrors.RequestAbortedError)) {
      return clientClosed(err);
    }
    // The caller's own deadline (AbortSignal.timeout) ended the wait for a reply.
    if (err instanceof undiciErrors.HeadersTimeoutError || (err instanceof Error && err.name === 'TimeoutError')) {
      return new WarmgateError('UPSTREAM_TIMEOUT', `backend ${this.#backend} (${this.origin}) sent no reply in time`, { cause: err });
    }
    const code = (err as { code?: string }).code ?? '';
    const detail = err instanceof Error ? err.message : String(err);
    return new WarmgateError('UPSTREAM_UNREACHABLE', `backend ${this.#backend} at ${this.origin} is unreachable: ${code || detail}`, { cause: err });
  }
}

/** A call that did not reach the upstream at all (no reply): what a breaker counts. */
function unreached(err: Error): boolean {
  return err instanceof WarmgateError && (err.code === 'WG_UPSTREAM_UNREACHABLE' || err.code === 'WG_UPSTREAM_TIMEOUT');
}

export async function readText(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** An upstream error reply, keeping its status and its own message (`{"error": ...}` in either dialect). */
export function upstreamStatusError(status: number, text: string, backend: string): WarmgateError {
  let message = text.trim();
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') message = parsed.error;
    else if (parsed.error && typeof parsed.error === 'object' && 'message' in parsed.error) message = String((parsed.error as { message: unknown }).message);
  } catch {
    // not JSON: keep the text
  }
  return new WarmgateError('UPSTREAM_ERROR', message || `backend ${backend} answered ${status}`, { status, replied: true });
}

function cleanHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  for (const [k, v] of Object.entries(headers)) if (!HOP_BY_HOP.has(k.toLowerCase())) out[k] = v;
  return out;
}
