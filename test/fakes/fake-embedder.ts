/**
 * Test doubles for the batching tests: a hand-driven timer, a recording embedding
 * upstream and a scripted chunk stream. Deterministic: nothing here reads the clock.
 */
import type { Schedule } from '../../src/batching/micro-batcher.js';

/** Lets every pending promise continuation run (microtasks drain before a macrotask). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A `schedule` whose time only moves when a test calls `advance`. */
export class ManualSchedule {
  #now = 0;
  #timers: { at: number; fn: () => void }[] = [];

  readonly schedule: Schedule = (fn, ms) => {
    this.#timers.push({ at: this.#now + ms, fn });
  };

  get pending(): number {
    return this.#timers.length;
  }

  advance(ms: number): void {
    this.#now += ms;
    const due = this.#timers.filter((t) => t.at <= this.#now).sort((a, b) => a.at - b.at);
    this.#timers = this.#timers.filter((t) => t.at > this.#now);
    due.forEach((t) => t.fn());
  }
}

/** A deterministic vector for an input: its length and the sum of its char codes. */
export function vectorFor(input: string): number[] {
  return [input.length, [...input].reduce((sum, ch) => sum + (ch.codePointAt(0) ?? 0), 0)];
}

interface Call {
  inputs: string[];
  tag: string;
  signal: AbortSignal;
}

/**
 * A recording embedding upstream. It rejects any call with an input containing "BAD",
 * counts one prompt token per character, and while `held` answers only on `release()`.
 */
export class FakeEmbedder {
  readonly calls: Call[] = [];
  readonly vectors = new Map<string, number[]>();
  held = false;
  #waiting: (() => void)[] = [];

  readonly embed = (inputs: string[], signal: AbortSignal, tag = ''): Promise<{ embeddings: number[][]; promptTokens: number }> => {
    this.calls.push({ inputs, tag, signal });
    const answer = () => {
      if (inputs.some((input) => input.includes('BAD'))) throw new Error('bad input');
      return {
        embeddings: inputs.map((input) => this.vectors.get(input) ?? vectorFor(input)),
        promptTokens: inputs.reduce((sum, input) => sum + input.length, 0),
      };
    };
    if (!this.held) return Promise.resolve().then(answer);
    return new Promise((resolve, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      this.#waiting.push(() => {
        try {
          resolve(answer());
        } catch (error) {
          reject(error);
        }
      });
    });
  };

  /** Answers every held call. */
  release(): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    waiting.forEach((answer) => answer());
  }
}

/** An upstream stream the test feeds chunk by chunk; records how often it started and its signal. */
export class FakeStream<T> {
  starts = 0;
  signal: AbortSignal | undefined;
  #chunks: T[] = [];
  #end: { error?: unknown } | undefined;
  #wake: (() => void) | undefined;

  readonly start = (signal: AbortSignal): AsyncIterable<T> => {
    this.starts += 1;
    this.signal = signal;
    signal.addEventListener('abort', () => this.#wake?.(), { once: true });
    return this.#iterate(signal);
  };

  push(chunk: T): void {
    this.#chunks.push(chunk);
    this.#wake?.();
  }

  end(error?: unknown): void {
    this.#end = { error };
    this.#wake?.();
  }

  async *#iterate(signal: AbortSignal): AsyncGenerator<T> {
    for (;;) {
      signal.throwIfAborted();
      const chunk = this.#chunks.shift();
      if (chunk !== undefined) yield chunk;
      else if (this.#end?.error !== undefined) throw this.#end.error;
      else if (this.#end) return;
      else await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }
}
