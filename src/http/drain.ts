import type { Context, Next } from 'hono';
import { shuttingDown, type WarmgateError } from '../errors.js';
import { refuse, type Check } from './admission.js';
import { nodeBindings } from './node-request.js';

/** A request in flight, as a stop sees it: `end` (set by the request scope) ends it with `reason`. */
export interface InFlight {
  reason?: WarmgateError;
  end?: (reason: WarmgateError) => void;
}

declare module 'hono' {
  interface ContextVariableMap {
    /** This request's entry with the drain. */
    stop: InFlight;
  }
}

/** How long requests ended by a stop get to send their error reply. */
const END_GRACE_MS = 2_000;

/** Why a stop ended this request (what it must answer), if one did. */
export function stopReason(c: Context): WarmgateError | undefined {
  return c.get('stop')?.reason;
}

/**
 * Stopping without losing work (SIGTERM). `track` follows every request in flight (the
 * admission middleware runs it); after `begin()`, `refuseWhileStopping` refuses new ones
 * (503 with Retry-After, in the caller's dialect: they reach a connection the server has
 * not closed yet); `settled(ms)` waits for those in flight to
 * finish and, past `ms`, ends the rest through their `stop` entry, whose `end` the request
 * scope points at the request's own abort: a stream then ends with its dialect's error
 * piece (its record keeps the 200 and says `WG_UNAVAILABLE`), a whole reply is a 503; never
 * a cut mid-chunk or a 499.
 */
export class Drain {
  readonly #inFlight = new Set<InFlight>();
  #draining = false;
  #idle: (() => void) | undefined;

  /** New requests are refused (503 with Retry-After, in the caller's dialect) once a stop has begun. */
  readonly refuseWhileStopping: Check = (c) => (this.#draining ? refuse(c, shuttingDown()) : undefined);

  /** Runs the rest of the request (`next`) tracked as in flight until its reply is complete. */
  async track(c: Context, next: Next): Promise<void> {
    // A plain object, no AbortController: this runs for every request.
    const entry: InFlight = {};
    this.#inFlight.add(entry);
    c.set('stop', entry);
    const done = () => {
      this.#inFlight.delete(entry);
      if (this.#inFlight.size === 0) this.#idle?.();
    };
    const { outgoing } = nodeBindings(c);
    // Under Node the request is done when its response is (a stream outlives `next()`).
    if (outgoing) outgoing.once('close', done);
    try {
      await next();
    } finally {
      if (!outgoing) done();
    }
  }

  begin(): void {
    this.#draining = true;
  }

  /** Resolves when nothing is in flight; after `ms`, ends what still is (their replies still go out). */
  async settled(ms: number): Promise<void> {
    if (this.#inFlight.size === 0) return;
    const idle = new Promise<void>((resolve) => (this.#idle = resolve));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
    const outcome = await Promise.race([idle, deadline]);
    clearTimeout(timer);
    if (outcome !== 'late') return;
    for (const entry of this.#inFlight) {
      entry.reason = shuttingDown();
      entry.end?.(entry.reason);
    }
    // Each ends with its error reply; the caller closes whatever connection is left after this.
    await Promise.race([idle, new Promise((resolve) => setTimeout(resolve, END_GRACE_MS).unref())]);
  }
}
