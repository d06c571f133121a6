import { describe, expect, it } from 'vitest';
import { FakeEmbedder, ManualSchedule, settle, vectorFor } from '../../test/fakes/fake-embedder.js';
import { MicroBatcher, type MicroBatcherOptions } from './micro-batcher.js';

type Options = Partial<MicroBatcherOptions<string, string, number[]>>;

function setup(options: Options = {}) {
  const clock = new ManualSchedule();
  const upstream = new FakeEmbedder();
  const batcher = new MicroBatcher<string, string, number[]>({
    run: async (model, inputs, signal) => {
      const { embeddings, promptTokens } = await upstream.embed(inputs, signal, model);
      return { outputs: embeddings, promptTokens };
    },
    keyOf: (model) => model,
    windowMs: 2,
    maxInputs: 256,
    weigh: (input) => input.length,
    schedule: clock.schedule,
    ...options,
  });
  return { clock, upstream, batcher };
}

const sentInputs = (upstream: FakeEmbedder) => upstream.calls.map((c) => c.inputs);

describe('MicroBatcher', () => {
  it('splits one call per key back to 50 interleaved callers in order', async () => {
    const { clock, upstream, batcher } = setup();
    const requests = Array.from({ length: 50 }, (_, i) => ({
      model: i % 2 === 0 ? 'even' : 'odd',
      inputs: Array.from({ length: 1 + (i % 3) }, (_, j) => `r${i}-in${j}-${'x'.repeat((i * 7 + j) % 5)}`),
    }));
    const pending = requests.map((r, i) => {
      if (i % 10 === 9) clock.advance(0.1); // arrivals spread over the window
      return batcher.submit(r.model, r.inputs);
    });
    expect(upstream.calls).toHaveLength(0);
    clock.advance(2);
    const results = await Promise.all(pending);

    expect(upstream.calls.map((c) => c.tag).sort()).toEqual(['even', 'odd']);
    results.forEach((result, i) => {
      expect(result.outputs).toEqual(requests[i].inputs.map(vectorFor));
      expect(result.batchedWith).toBe(25);
      // The fake counts one token per character, so a share by characters is exact.
      expect(result.promptTokens).toBe(requests[i].inputs.join('').length);
    });
    expect(batcher.stats()).toEqual({ batches: 2, requests: 50, batchedRequests: 50, meanBatchSize: 25, maxBatchSize: 25 });
  });

  it('sends a batch when its window ends, not before', async () => {
    const { clock, upstream, batcher } = setup({ windowMs: 2 });
    const a = batcher.submit('m', ['a']);
    clock.advance(1);
    const b = batcher.submit('m', ['b']);
    clock.advance(0.5);
    await settle();
    expect(upstream.calls).toHaveLength(0);
    clock.advance(0.5);
    expect(sentInputs(upstream)).toEqual([['a', 'b']]);
    expect((await a).batchedWith).toBe(2);
    expect((await b).outputs).toEqual([vectorFor('b')]);
  });

  it('sends at once on reaching maxInputs, and first when a request would overflow', async () => {
    const { clock, upstream, batcher } = setup({ maxInputs: 4 });
    void batcher.submit('m', ['a', 'b']);
    void batcher.submit('m', ['c', 'd']);
    expect(sentInputs(upstream)).toEqual([['a', 'b', 'c', 'd']]);
    void batcher.submit('m', ['e', 'f', 'g']);
    void batcher.submit('m', ['h', 'i']);
    expect(sentInputs(upstream)).toEqual([['a', 'b', 'c', 'd'], ['e', 'f', 'g']]);
    void batcher.submit('m', ['j', 'k', 'l', 'm', 'n']); // over the limit alone: goes alone
    expect(sentInputs(upstream).slice(2)).toEqual([['h', 'i'], ['j', 'k', 'l', 'm', 'n']]);
    clock.advance(2);
    expect(upstream.calls).toHaveLength(4);
  });

  it('sends at once on reaching maxWeight (characters)', () => {
    const { upstream, batcher } = setup({ maxWeight: 10 });
    void batcher.submit('m', ['12345']);
    void batcher.submit('m', ['1234']);
    expect(upstream.calls).toHaveLength(0);
    void batcher.submit('m', ['12']); // 11 > 10: the first two go first
    expect(sentInputs(upstream)).toEqual([['12345', '1234']]);
    void batcher.submit('m', ['12345678']);
    expect(sentInputs(upstream)).toEqual([['12345', '1234'], ['12', '12345678']]);
  });

  it('window 0 sends every request alone, at once', async () => {
    const { clock, upstream, batcher } = setup({ windowMs: 0 });
    const results = [batcher.submit('m', ['a']), batcher.submit('m', ['b', 'c'])];
    expect(sentInputs(upstream)).toEqual([['a'], ['b', 'c']]);
    expect(clock.pending).toBe(0);
    expect((await Promise.all(results)).map((r) => r.batchedWith)).toEqual([1, 1]);
  });

  it('fails only the request with the bad input, retrying the others alone', async () => {
    const { clock, upstream, batcher } = setup();
    const good1 = batcher.submit('m', ['a', 'b']);
    const bad = batcher.submit('m', ['c', 'BAD']);
    const good2 = batcher.submit('m', ['d']);
    clock.advance(2);
    await expect(bad).rejects.toThrow('bad input');
    expect(await good1).toEqual({ outputs: [vectorFor('a'), vectorFor('b')], promptTokens: 2, batchedWith: 1 });
    expect((await good2).outputs).toEqual([vectorFor('d')]);
    expect(sentInputs(upstream)).toEqual([['a', 'b', 'c', 'BAD', 'd'], ['a', 'b'], ['c', 'BAD'], ['d']]);
  });

  it('fails the batch when the upstream returns the wrong number of outputs', async () => {
    const batcher = new MicroBatcher<string, string, number>({
      run: async () => ({ outputs: [1], promptTokens: 0 }),
      keyOf: (m) => m,
      windowMs: 0,
      maxInputs: 8,
    });
    await expect(batcher.submit('m', ['a', 'b'])).rejects.toThrow('1 results for 2 inputs');
  });

  it('removes a caller that aborts before the send', async () => {
    const { clock, upstream, batcher } = setup();
    const gone = new AbortController();
    const a = batcher.submit('m', ['a']);
    const b = batcher.submit('m', ['b'], gone.signal);
    const c = batcher.submit('m', ['c']);
    gone.abort();
    await expect(b).rejects.toMatchObject({ name: 'AbortError' });
    clock.advance(2);
    expect(sentInputs(upstream)).toEqual([['a', 'c']]);
    expect((await a).batchedWith).toBe(2);
    expect((await c).outputs).toEqual([vectorFor('c')]);
  });

  it('rejects at once a caller whose signal has already aborted', async () => {
    const { upstream, batcher } = setup({ windowMs: 0 });
    await expect(batcher.submit('m', ['a'], AbortSignal.abort())).rejects.toMatchObject({ name: 'AbortError' });
    expect(upstream.calls).toHaveLength(0);
  });

  it('drops the result of a caller that aborts after the send; the others get theirs', async () => {
    const { clock, upstream, batcher } = setup();
    upstream.held = true;
    const gone = new AbortController();
    const a = batcher.submit('m', ['a']);
    const b = batcher.submit('m', ['b'], gone.signal);
    clock.advance(2);
    gone.abort();
    await expect(b).rejects.toMatchObject({ name: 'AbortError' });
    expect(upstream.calls[0].signal.aborted).toBe(false);
    upstream.release();
    expect(await a).toEqual({ outputs: [vectorFor('a')], promptTokens: 1, batchedWith: 2 });
  });

  it('aborts the upstream call when every caller has gone', async () => {
    const { clock, upstream, batcher } = setup();
    upstream.held = true;
    const callers = [new AbortController(), new AbortController()];
    const results = callers.map((c, i) => batcher.submit('m', [`in${i}`], c.signal));
    clock.advance(2);
    callers[0].abort();
    expect(upstream.calls[0].signal.aborted).toBe(false);
    callers[1].abort();
    expect(upstream.calls[0].signal.aborted).toBe(true);
    await Promise.allSettled(results);
    await settle();
    expect(upstream.calls).toHaveLength(1); // no solo retries for callers who left
  });

  it('splits prompt tokens by character share, adding up to the total', async () => {
    const clock = new ManualSchedule();
    const batcher = new MicroBatcher<string, string, number>({
      run: async (_m, inputs) => ({ outputs: inputs.map(() => 0), promptTokens: 10 }),
      keyOf: (m) => m,
      windowMs: 1,
      maxInputs: 8,
      weigh: (s) => s.length,
      schedule: clock.schedule,
    });
    const shares = [batcher.submit('m', ['a']), batcher.submit('m', ['bb']), batcher.submit('m', ['ccc'])];
    const empty = [batcher.submit('e', ['']), batcher.submit('e', ['', ''])];
    clock.advance(1);
    // 10 × 1/6, 2/6, 3/6 = 1.67, 3.33, 5: largest remainder gives 2, 3, 5.
    expect((await Promise.all(shares)).map((r) => r.promptTokens)).toEqual([2, 3, 5]);
    // No characters at all: split by input count instead (1/3, 2/3).
    expect((await Promise.all(empty)).map((r) => r.promptTokens)).toEqual([3, 7]);
    const alone = batcher.submit('m', ['abc']);
    clock.advance(1);
    expect((await alone).promptTokens).toBe(10);
  });

  it('with maxInFlight, a batch whose window ends while the key is busy keeps gathering and goes when the call returns', async () => {
    const { clock, upstream, batcher } = setup({ maxInFlight: () => 1 });
    upstream.held = true;
    const first = batcher.submit('m', ['a']);
    clock.advance(2);
    expect(sentInputs(upstream)).toEqual([['a']]);
    const waiting = [batcher.submit('m', ['b'])];
    clock.advance(2); // its window ends while 'a' is upstream: it keeps gathering
    waiting.push(batcher.submit('m', ['c']), batcher.submit('m', ['d', 'e']));
    clock.advance(5);
    await settle();
    expect(upstream.calls).toHaveLength(1);
    upstream.held = false;
    upstream.release();
    expect((await first).outputs).toEqual([vectorFor('a')]);
    expect(sentInputs(upstream)).toEqual([['a'], ['b', 'c', 'd', 'e']]);
    const results = await Promise.all(waiting);
    expect(results.map((r) => r.outputs)).toEqual([[vectorFor('b')], [vectorFor('c')], [vectorFor('d'), vectorFor('e')]]);
    expect(results.map((r) => r.batchedWith)).toEqual([3, 3, 3]);
    // Nothing in flight now: the next batch goes when its window ends, as usual.
    const later = batcher.submit('m', ['f']);
    clock.advance(2);
    expect((await later).outputs).toEqual([vectorFor('f')]);
    expect(upstream.calls).toHaveLength(3);
  });

  it('with maxInFlight, a batch still goes at once when full, and other keys are not held back', async () => {
    const { clock, upstream, batcher } = setup({ maxInFlight: () => 1, maxInputs: 3 });
    upstream.held = true;
    void batcher.submit('m', ['a']);
    clock.advance(2);
    void batcher.submit('m', ['b', 'c']);
    void batcher.submit('m', ['d']);
    expect(sentInputs(upstream)).toEqual([['a'], ['b', 'c', 'd']]);
    void batcher.submit('other', ['x']);
    clock.advance(2);
    expect(upstream.calls.map((c) => c.tag)).toEqual(['m', 'm', 'other']);
    upstream.release();
  });

  it('with maxInFlight, a call that fails frees its slot for the gathering batch', async () => {
    const { clock, upstream, batcher } = setup({ maxInFlight: () => 1 });
    upstream.held = true;
    const bad = batcher.submit('m', ['BAD']);
    clock.advance(2);
    const next = batcher.submit('m', ['ok']);
    clock.advance(2);
    upstream.held = false;
    upstream.release();
    await expect(bad).rejects.toThrow('bad input');
    expect((await next).outputs).toEqual([vectorFor('ok')]);
    expect(sentInputs(upstream)).toEqual([['BAD'], ['ok']]);
  });

  it('with maxInFlight, a gathering batch that every caller has left is not sent', async () => {
    const { clock, upstream, batcher } = setup({ maxInFlight: () => 1 });
    upstream.held = true;
    const first = batcher.submit('m', ['a']);
    clock.advance(2);
    const caller = new AbortController();
    const gone = batcher.submit('m', ['b'], caller.signal);
    clock.advance(2);
    caller.abort(new Error('left'));
    await expect(gone).rejects.toThrow('left');
    upstream.held = false;
    upstream.release();
    await first;
    await settle();
    expect(sentInputs(upstream)).toEqual([['a']]);
  });
});
