import { backendDown } from '../errors.js';

/*
 * A circuit breaker for one upstream origin: the pure state machine. Events in (`passed`,
 * `failed`, `tick`, `probeDone`), time from an injected clock, no I/O, timers or promises:
 * the shell (`UpstreamPool`) arms one timer at `nextWakeAt()` and sends the probe `tick`
 * asks for, as the residency shell does for the scheduler.
 */

/** When and how a backend is taken out (`backends.X.breaker`). */
export interface BreakerSettings {
  /** Consecutive connection-level failures that open it. */
  failures: number;
  /** The first back-off before a probe, in ms; doubled after each failed probe... */
  openMs: number;
  /** ...up to this. */
  maxOpenMs: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/** What `/warmgate/status` and `/metrics` show of one breaker. */
export interface BreakerStatus {
  state: BreakerState;
  /** Consecutive connection-level failures (the one that opened it included while open). */
  failures: number;
  /** Times it opened since the gateway started. */
  opens: number;
  /** Ms until the next probe while open; 0 while the probe runs; absent while closed. */
  nextProbeInMs?: number;
}

export interface BreakerClock {
  /** Milliseconds; only differences matter. */
  now(): number;
}

/**
 * closed → open after `failures` consecutive failures to reach the backend (refused, reset,
 * no first byte in time; an HTTP reply of any status is a pass: the host is alive) →
 * half-open when the back-off ends: ONE probe, whose pass closes it and whose failure opens
 * it again for twice as long (capped). While not closed every request is refused at once.
 * A request already on its way that gets a reply while open is a pass too: it closes it.
 */
export class CircuitBreaker {
  readonly backend: string;
  readonly #settings: BreakerSettings;
  readonly #clock: BreakerClock;
  #state: BreakerState = 'closed';
  #failures = 0;
  #opens = 0;
  #backoffMs: number;
  #probeAt: number | undefined;
  readonly #listeners: Array<(from: BreakerState, to: BreakerState) => void> = [];

  constructor(backend: string, settings: BreakerSettings, clock: BreakerClock) {
    this.backend = backend;
    this.#settings = settings;
    this.#clock = clock;
    this.#backoffMs = settings.openMs;
  }

  /** Tells `listener` each change of state, as it happens (the gateway logs them). */
  onChange(listener: (from: BreakerState, to: BreakerState) => void): void {
    this.#listeners.push(listener);
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** Throws the backend-down refusal unless closed: a request's whole cost while closed is this compare. */
  admit(): void {
    if (this.#state !== 'closed') throw backendDown(this.backend, this.#state, this.#failures, this.#retryAfterS());
  }

  /** The backend answered (any status). */
  passed(): void {
    if (this.#failures === 0 && this.#state === 'closed') return;
    this.#close();
  }

  /** A call could not reach the backend. Failures of calls that started before it opened add nothing. */
  failed(): void {
    if (this.#state !== 'closed') return;
    if (++this.#failures >= this.#settings.failures) this.#open();
  }

  /** When the shell must call `tick`: the end of the back-off while open. */
  nextWakeAt(): number | undefined {
    return this.#state === 'open' ? this.#probeAt : undefined;
  }

  /** True when the back-off is over: the breaker is half-open and the shell sends the probe now. */
  tick(): boolean {
    if (this.#state !== 'open' || this.#clock.now() < this.#probeAt!) return false;
    this.#enter('half-open');
    return true;
  }

  /** The probe's outcome: a reply closes the breaker; none opens it again with a longer back-off. */
  probeDone(ok: boolean): void {
    if (this.#state !== 'half-open') return;
    if (ok) return this.#close();
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.#settings.maxOpenMs);
    this.#open();
  }

  status(): BreakerStatus {
    const status: BreakerStatus = { state: this.#state, failures: this.#failures, opens: this.#opens };
    if (this.#state === 'open') status.nextProbeInMs = Math.max(0, Math.ceil(this.#probeAt! - this.#clock.now()));
    if (this.#state === 'half-open') status.nextProbeInMs = 0;
    return status;
  }

  #open(): void {
    if (this.#state === 'closed') this.#opens++;
    this.#probeAt = this.#clock.now() + this.#backoffMs;
    this.#enter('open');
  }

  #close(): void {
    this.#failures = 0;
    this.#backoffMs = this.#settings.openMs;
    this.#probeAt = undefined;
    this.#enter('closed');
  }

  #enter(state: BreakerState): void {
    const from = this.#state;
    this.#state = state;
    if (from !== state) for (const listener of this.#listeners) listener(from, state);
  }

  /** Whole seconds until the probe (at least 1: half-open, the probe's answer is about to come). */
  #retryAfterS(): number {
    return Math.max(1, Math.ceil(((this.#probeAt ?? 0) - this.#clock.now()) / 1000));
  }
}
