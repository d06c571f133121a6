import type { GenerateEvent } from '../dialects/canonical.js';
import { replyCutShort } from '../errors.js';
import type { Lease } from '../residency/residency.js';
import { round, type RequestTimer } from '../telemetry/timer.js';

/** What a request carries through the gateway: its record and the signal that fires when its client leaves. */
export interface RequestScope {
  record: RequestTimer;
  signal: AbortSignal;
}

/** A granted lease's waits, on the record. */
export function noteLease(record: RequestTimer, lease: Lease): void {
  record.record.backend = lease.entry.backend.name;
  record.record.queue_ms = round(lease.queueMs);
  record.record.load_ms = round(lease.loadMs);
}

/** Fills the record from a canonical event: first token, then the backend's own figures. */
export function noteEvent(record: RequestTimer, ev: GenerateEvent): void {
  if (ev.type === 'delta') {
    if (ev.content || ev.thinking || ev.toolCalls) record.firstToken();
    return;
  }
  const r = record.record;
  // A backend's count is its word, except one no count can be (a negative eval_count was seen): unknown, not an error.
  r.prompt_tokens = count(ev.usage.promptTokens);
  r.gen_tokens = count(ev.usage.completionTokens);
  if (ev.timings.promptMs !== undefined) r.prompt_ms = round(ev.timings.promptMs);
  if (ev.timings.genMs !== undefined) r.gen_ms = round(ev.timings.genMs);
  if (ev.timings.loadMs) r.load_ms = round(r.load_ms + ev.timings.loadMs);
}

function count(n: number): number | undefined {
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** How a reply's pieces fill the record, and which piece is its last (a reply that ends without one was cut short). */
export interface PieceHooks<T> {
  note(piece: T): void;
  final(piece: T): boolean;
  /** What a failure to read the next piece is thrown as (the backend's name for it); absent: as it came. */
  failed?(err: unknown): unknown;
}

/**
 * A reply's pieces as the route reads them: each one's events noted on the record, and the
 * lease released however the reading ends (done, failed, or closed early by a client that
 * left). A reply that ends without its final piece fails: a backend whose reply stopped
 * early (its runner quit, a proxy cut it cleanly) must not look like a complete answer, so
 * the client gets its dialect's error instead of a normal end (`[DONE]`, a silent close).
 * `first`, when given, is a piece already read from `it`. A plain iterator, not an async
 * generator: every streamed piece passes through it, and a generator layer costs several
 * promise turns per piece more.
 */
export function accounted<T>(it: AsyncIterator<T>, first: IteratorResult<T> | undefined, lease: Lease, hooks: PieceHooks<T>): AsyncIterableIterator<T> {
  let pending = first;
  let released = false;
  let ended = false;
  const release = () => {
    if (released) return;
    released = true;
    lease.release();
  };
  return {
    async next() {
      try {
        const r = pending ?? (await it.next());
        pending = undefined;
        if (r.done) {
          release();
          if (!ended) throw replyCutShort();
        } else {
          hooks.note(r.value);
          ended ||= hooks.final(r.value);
        }
        return r;
      } catch (err) {
        release();
        throw hooks.failed ? hooks.failed(err) : err;
      }
    },
    async return() {
      release();
      await it.return?.();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
