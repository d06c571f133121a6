/**
 * Single-flight: identical requests in flight at the same time share one upstream call.
 * Two shapes over one mechanism: a stream of chunks (`stream`), and a promise (`call`),
 * which is a stream of exactly one chunk.
 *
 * Contracts:
 * - The first caller for a key (the leader) starts the upstream; callers arriving while
 *   it runs are `coalesced` into it. Chunks are kept for the whole flight, so a joiner
 *   that arrives mid-stream still receives every chunk from the first one, then live ones.
 * - A caller leaves when its signal aborts (its iteration then throws the signal's
 *   reason) or when it stops iterating; the others are unaffected. The upstream's signal
 *   aborts only when every caller has left. A caller that neither iterates nor aborts
 *   stays attached, so routes must do one or the other.
 * - An upstream error reaches every caller still attached, after the chunks before it.
 * - The entry is removed when the flight ends or its last caller leaves, so a later
 *   identical request starts a new flight. One instance keeps streams and promise calls
 *   in one map: their keys must differ (they do when the key covers the `stream` field).
 */

/** Starts the upstream; the signal aborts when every caller has left. */
export type StreamStart<T> = (signal: AbortSignal) => AsyncIterable<T>;

export interface FlightStream<T> {
  /** False for the leader, true for a caller that joined a flight in progress. */
  coalesced: boolean;
  chunks: AsyncIterable<T>;
}

export interface FlightResult<T> {
  value: T;
  coalesced: boolean;
}

export interface FlightStats {
  /** Upstream calls started. */
  flights: number;
  /** Callers served by another caller's flight. */
  coalesced: number;
  inFlight: number;
}

/** One upstream call and everything it has produced so far. */
class Flight<T> {
  readonly chunks: T[] = [];
  readonly controller = new AbortController();
  state: 'live' | 'done' | 'failed' = 'live';
  error: unknown;
  members = 0;
  readonly #sleepers = new Set<() => void>();

  push(chunk: T): void {
    this.chunks.push(chunk);
    this.#wake();
  }

  end(state: 'done' | 'failed', error?: unknown): void {
    this.state = state;
    this.error = error;
    this.#wake();
  }

  /** Resolves at the next chunk or end, or when `signal` aborts. */
  changed(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        this.#sleepers.delete(wake);
        signal?.removeEventListener('abort', wake);
        resolve();
      };
      this.#sleepers.add(wake);
      signal?.addEventListener('abort', wake, { once: true });
    });
  }

  #wake(): void {
    for (const wake of [...this.#sleepers]) wake();
  }
}

export class SingleFlight<T> {
  readonly #flights = new Map<string, Flight<T>>();
  #started = 0;
  #coalesced = 0;

  /** Joins the flight for `key`, or starts one with `start`. Throws if `signal` has aborted. */
  stream(key: string, start: StreamStart<T>, signal?: AbortSignal): FlightStream<T> {
    signal?.throwIfAborted();
    const existing = this.#flights.get(key);
    const flight = existing ?? new Flight<T>();
    const leave = this.#attach(key, flight, signal);
    if (existing) {
      this.#coalesced += 1;
    } else {
      this.#flights.set(key, flight);
      this.#started += 1;
      void this.#pump(key, flight, start);
    }
    return { coalesced: existing !== undefined, chunks: follow(flight, signal, leave) };
  }

  /** The promise shape: joins or starts `fn` for `key`; rejects with the signal's reason if it aborts. */
  async call(key: string, fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<FlightResult<T>> {
    const { coalesced, chunks } = this.stream(key, async function* (upstream) {
      yield await fn(upstream);
    }, signal);
    const values: T[] = [];
    for await (const value of chunks) values.push(value);
    return { value: values[0], coalesced };
  }

  stats(): FlightStats {
    return { flights: this.#started, coalesced: this.#coalesced, inFlight: this.#flights.size };
  }

  /** Counts a caller in; the returned `leave` is idempotent and runs on abort. */
  #attach(key: string, flight: Flight<T>, signal: AbortSignal | undefined): () => void {
    flight.members += 1;
    let left = false;
    const leave = (): void => {
      if (left) return;
      left = true;
      signal?.removeEventListener('abort', leave);
      flight.members -= 1;
      if (flight.members === 0 && flight.state === 'live') {
        this.#drop(key, flight);
        flight.controller.abort();
      }
    };
    signal?.addEventListener('abort', leave, { once: true });
    return leave;
  }

  async #pump(key: string, flight: Flight<T>, start: StreamStart<T>): Promise<void> {
    try {
      for await (const chunk of start(flight.controller.signal)) {
        if (flight.members === 0) break;
        flight.push(chunk);
      }
      flight.end('done');
    } catch (error) {
      flight.end('failed', error);
    } finally {
      this.#drop(key, flight);
    }
  }

  #drop(key: string, flight: Flight<T>): void {
    if (this.#flights.get(key) === flight) this.#flights.delete(key);
  }
}

/** One caller's view: the chunks so far, then live ones, until the end, an error or its abort. */
async function* follow<T>(flight: Flight<T>, signal: AbortSignal | undefined, leave: () => void): AsyncGenerator<T> {
  try {
    for (let next = 0; ; ) {
      signal?.throwIfAborted();
      if (next < flight.chunks.length) yield flight.chunks[next++];
      else if (flight.state === 'done') return;
      else if (flight.state === 'failed') throw flight.error;
      else await flight.changed(signal);
    }
  } finally {
    leave();
  }
}
