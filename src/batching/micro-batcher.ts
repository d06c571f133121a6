/**
 * Micro-batching: concurrent requests for the same key that arrive within a short window
 * go upstream as ONE call, and the results are split back to the callers in order.
 * Generic over what it carries: G is what the upstream call needs (model, options), from
 * which `keyOf` derives the batching key; I is one input; O is the output for one input.
 *
 * Contracts:
 * - A request is never split: its inputs stay together and in order within one call.
 * - A batch is sent when its window ends, or at once when it reaches `maxInputs` inputs or
 *   `maxWeight` weight; a request that would overflow it sends it first and opens the next
 *   (a request over the limits alone goes alone). `windowMs` 0 sends every request alone.
 * - With `maxInFlight`, a batch whose window has ended while its key already has that many
 *   calls in flight keeps gathering until one of them returns, and is sent then: requests
 *   that arrive while the model is busy pile up into one batch instead of queueing behind
 *   it as one small batch per window. (A full batch is still sent at once.)
 * - When the upstream rejects a batch of several requests, each request still waiting is
 *   retried alone (concurrently), so one bad input fails only its own request.
 * - A caller whose signal aborts before the send leaves the batch; after the send its
 *   result is dropped. Either way its promise rejects with the signal's reason at once.
 *   The upstream call's signal aborts only when every caller of that call has gone.
 * - Prompt tokens: the call's `promptTokens` are split among its requests in proportion to
 *   their summed input weight (with the default weight, their input count; with
 *   `weigh = s => s.length`, their characters; if every weight is 0, their input count),
 *   rounded by largest remainder so that the shares add up to the call's total.
 */

/** Runs `fn` after `ms` milliseconds; injected so tests drive time by hand. */
export type Schedule = (fn: () => void, ms: number) => void;

export interface BatchOutput<O> {
  /** One output per input, in input order. */
  outputs: O[];
  promptTokens: number;
  /** Facts about the call every member shares (e.g. how long it waited for the model). */
  meta?: CallMeta;
}

/** What the call that served a batch says of itself (times, the host it ran on), passed to each of its requests. */
export type CallMeta = Readonly<Record<string, number | string>>;

export type BatchRun<G, I, O> = (group: G, inputs: I[], signal: AbortSignal) => Promise<BatchOutput<O>>;

export interface MicroBatcherOptions<G, I, O> {
  run: BatchRun<G, I, O>;
  /** Requests with equal keys may share a call; the call gets the first one's group. */
  keyOf: (group: G) => string;
  windowMs: number;
  maxInputs: number;
  /** Cap on a batch's summed input weight (e.g. characters); default unlimited. */
  maxWeight?: number;
  /** An input's weight, for `maxWeight` and the token split; default 1. */
  weigh?: (input: I) => number;
  /** Most calls in flight at once for a group's key (e.g. the model's parallel slots); default unlimited. */
  maxInFlight?: (group: G) => number;
  schedule?: Schedule;
}

export interface BatchedResult<O> {
  /** The outputs for this request's inputs, in order. */
  outputs: O[];
  /** This request's share of the call's prompt tokens. */
  promptTokens: number;
  /** How many requests shared the upstream call, this one included. */
  batchedWith: number;
  meta?: CallMeta;
}

export interface BatchStats {
  /** Upstream calls made, solo retries included. */
  batches: number;
  /** Requests sent upstream (a retried request counts once per call). */
  requests: number;
  /** Requests that shared their call with at least one other. */
  batchedRequests: number;
  /** Requests per call. */
  meanBatchSize: number;
  maxBatchSize: number;
}

interface Member<G, I, O> {
  readonly inputs: I[];
  readonly weight: number;
  batch: Batch<G, I, O>;
  /** Set once the caller has its answer or has gone. */
  done: boolean;
  resolve(result: BatchedResult<O>): void;
  reject(error: unknown): void;
}

interface Batch<G, I, O> {
  readonly key: string;
  readonly group: G;
  readonly members: Member<G, I, O>[];
  inputs: number;
  weight: number;
  sent: boolean;
  /** Its window has ended: it goes as soon as its key has a call slot free. */
  due: boolean;
  readonly controller: AbortController;
}

const defaultSchedule: Schedule = (fn, ms) => {
  setTimeout(fn, ms);
};

export class MicroBatcher<G, I, O> {
  readonly #run: BatchRun<G, I, O>;
  readonly #keyOf: (group: G) => string;
  readonly #windowMs: number;
  readonly #maxInputs: number;
  readonly #maxWeight: number;
  readonly #weigh: (input: I) => number;
  readonly #maxInFlight: (group: G) => number;
  readonly #schedule: Schedule;
  /** Calls running per key. */
  readonly #inFlight = new Map<string, number>();
  /** The batch still gathering requests, per key. */
  readonly #pending = new Map<string, Batch<G, I, O>>();
  readonly #stats = { batches: 0, requests: 0, batchedRequests: 0, maxBatchSize: 0 };

  constructor(options: MicroBatcherOptions<G, I, O>) {
    this.#run = options.run;
    this.#keyOf = options.keyOf;
    this.#windowMs = options.windowMs;
    this.#maxInputs = options.maxInputs;
    this.#maxWeight = options.maxWeight ?? Infinity;
    this.#weigh = options.weigh ?? (() => 1);
    this.#maxInFlight = options.maxInFlight ?? (() => Infinity);
    this.#schedule = options.schedule ?? defaultSchedule;
  }

  /** Queues `inputs` for the next call of `group`'s key; resolves with their outputs. */
  submit(group: G, inputs: I[], signal?: AbortSignal): Promise<BatchedResult<O>> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const key = this.#keyOf(group);
    const weight = inputs.reduce((sum, input) => sum + this.#weigh(input), 0);
    let batch = this.#pending.get(key);
    if (batch && !this.#fits(batch, inputs.length, weight)) {
      this.#send(batch);
      batch = undefined;
    }
    batch ??= this.#open(key, group);
    const result = this.#join(batch, inputs, weight, signal);
    if (this.#windowMs <= 0 || batch.inputs >= this.#maxInputs || batch.weight >= this.#maxWeight) {
      this.#send(batch);
    }
    return result;
  }

  stats(): BatchStats {
    const { batches, requests } = this.#stats;
    return { ...this.#stats, meanBatchSize: batches === 0 ? 0 : requests / batches };
  }

  #fits(batch: Batch<G, I, O>, inputs: number, weight: number): boolean {
    return batch.members.length === 0
      || (batch.inputs + inputs <= this.#maxInputs && batch.weight + weight <= this.#maxWeight);
  }

  #open(key: string, group: G): Batch<G, I, O> {
    const batch = this.#newBatch(key, group);
    this.#pending.set(key, batch);
    if (this.#windowMs > 0) {
      this.#schedule(() => {
        if (this.#pending.get(key) !== batch) return;
        batch.due = true;
        if ((this.#inFlight.get(key) ?? 0) < this.#maxInFlight(batch.group)) this.#send(batch);
      }, this.#windowMs);
    }
    return batch;
  }

  #newBatch(key: string, group: G): Batch<G, I, O> {
    return { key, group, members: [], inputs: 0, weight: 0, sent: false, due: false, controller: new AbortController() };
  }

  #join(batch: Batch<G, I, O>, inputs: I[], weight: number, signal: AbortSignal | undefined): Promise<BatchedResult<O>> {
    return new Promise((resolve, reject) => {
      const onAbort = (): void => this.#leave(member, signal?.reason);
      const finish = (): boolean => {
        if (member.done) return false;
        member.done = true;
        signal?.removeEventListener('abort', onAbort);
        return true;
      };
      const member: Member<G, I, O> = {
        inputs,
        weight,
        batch,
        done: false,
        resolve: (result) => {
          if (finish()) resolve(result);
        },
        reject: (error) => {
          if (finish()) reject(error);
        },
      };
      this.#enter(batch, member);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #enter(batch: Batch<G, I, O>, member: Member<G, I, O>): void {
    member.batch = batch;
    batch.members.push(member);
    batch.inputs += member.inputs.length;
    batch.weight += member.weight;
  }

  #leave(member: Member<G, I, O>, reason: unknown): void {
    if (member.done) return;
    member.reject(reason);
    const { batch } = member;
    if (!batch.sent) {
      batch.members.splice(batch.members.indexOf(member), 1);
      batch.inputs -= member.inputs.length;
      batch.weight -= member.weight;
    } else if (batch.members.every((m) => m.done)) {
      batch.controller.abort(reason);
    }
  }

  #send(batch: Batch<G, I, O>): void {
    if (this.#pending.get(batch.key) === batch) this.#pending.delete(batch.key);
    if (batch.members.length === 0) return;
    batch.sent = true;
    this.#count(batch.members.length);
    const inputs = batch.members.flatMap((m) => m.inputs);
    const { key } = batch;
    this.#inFlight.set(key, (this.#inFlight.get(key) ?? 0) + 1);
    const returned = (): void => {
      const left = (this.#inFlight.get(key) ?? 1) - 1;
      if (left > 0) this.#inFlight.set(key, left);
      else this.#inFlight.delete(key);
    };
    // The executor turns a synchronous throw of `run` into a rejection.
    new Promise<BatchOutput<O>>((resolve) => resolve(this.#run(batch.group, inputs, batch.controller.signal))).then(
      (output) => {
        returned();
        this.#deliver(batch, output);
        this.#sendDue(key);
      },
      (error: unknown) => {
        returned();
        this.#fail(batch, error);
        this.#sendDue(key);
      },
    );
  }

  /** Sends the key's gathering batch if its window has ended and a call slot is free. */
  #sendDue(key: string): void {
    const batch = this.#pending.get(key);
    if (batch?.due && (this.#inFlight.get(key) ?? 0) < this.#maxInFlight(batch.group)) this.#send(batch);
  }

  #deliver(batch: Batch<G, I, O>, output: BatchOutput<O>): void {
    if (output.outputs.length !== batch.inputs) {
      this.#fail(batch, new Error(`upstream returned ${output.outputs.length} results for ${batch.inputs} inputs`));
      return;
    }
    const { members } = batch;
    const weights = members.map((m) => m.weight);
    const basis = weights.some((w) => w > 0) ? weights : members.map((m) => m.inputs.length);
    const shares = apportion(output.promptTokens, basis);
    let offset = 0;
    members.forEach((member, i) => {
      const outputs = output.outputs.slice(offset, (offset += member.inputs.length));
      member.resolve({ outputs, promptTokens: shares[i], batchedWith: members.length, meta: output.meta });
    });
  }

  #fail(batch: Batch<G, I, O>, error: unknown): void {
    const waiting = batch.members.filter((m) => !m.done);
    if (batch.members.length === 1) {
      waiting.forEach((m) => m.reject(error));
      return;
    }
    for (const member of waiting) {
      const solo = this.#newBatch(batch.key, batch.group);
      this.#enter(solo, member);
      this.#send(solo);
    }
  }

  #count(size: number): void {
    const stats = this.#stats;
    stats.batches += 1;
    stats.requests += size;
    if (size > 1) stats.batchedRequests += size;
    stats.maxBatchSize = Math.max(stats.maxBatchSize, size);
  }
}

/** Splits `total` in proportion to `weights` into integers that add up to `total` (largest remainder). */
function apportion(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum <= 0) return weights.map(() => 0);
  const exact = weights.map((w) => (total * w) / sum);
  const shares = exact.map(Math.floor);
  const byRemainder = exact.map((_, i) => i).sort((a, b) => exact[b] - shares[b] - (exact[a] - shares[a]) || a - b);
  const left = Math.round(total - shares.reduce((a, b) => a + b, 0));
  for (let k = 0; k < left; k++) shares[byRemainder[k]] += 1;
  return shares;
}
