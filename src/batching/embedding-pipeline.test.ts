import { describe, expect, it } from 'vitest';
import { EmbeddingCache } from './embedding-cache.js';
import { EmbeddingPipeline, type EmbeddingPipelineOptions } from './embedding-pipeline.js';
import { FakeEmbedder, ManualSchedule, settle, vectorFor } from '../../test/fakes/fake-embedder.js';

function setup(options: Partial<EmbeddingPipelineOptions> = {}) {
  const clock = new ManualSchedule();
  const upstream = new FakeEmbedder();
  const pipeline = new EmbeddingPipeline(
    { windowMs: 2, maxInputs: 256, cache: new EmbeddingCache(1 << 20), singleFlight: true, schedule: clock.schedule, ...options },
    (model, opts, inputs, signal) => upstream.embed(inputs, signal, `${model}:${JSON.stringify(opts)}`),
  );
  return { clock, upstream, pipeline };
}

describe('EmbeddingPipeline', () => {
  it('batches concurrent single-input requests into one call, then serves repeats from the cache', async () => {
    const { clock, upstream, pipeline } = setup();
    const inputs = Array.from({ length: 100 }, (_, i) => `chunk ${i}`);
    const first = inputs.map((input) => pipeline.embed('e5', { truncate: true }, [input]));
    clock.advance(2);
    const results = await Promise.all(first);
    expect(upstream.calls.map((c) => c.inputs)).toEqual([inputs]);
    results.forEach((r, i) => {
      expect(r).toEqual({ embeddings: [vectorFor(inputs[i])], promptTokens: inputs[i].length, cached: 0, batchedWith: 100, coalesced: false });
    });

    const again = await pipeline.embed('e5', { truncate: true }, inputs);
    expect(again).toEqual({ embeddings: inputs.map(vectorFor), promptTokens: 0, cached: 100, batchedWith: 0, coalesced: false });
    expect(upstream.calls).toHaveLength(1);
  });

  it('sends only the inputs the cache lacks and merges in order', async () => {
    const { clock, upstream, pipeline } = setup();
    const warm = pipeline.embed('e5', {}, ['b']);
    clock.advance(2);
    await warm;
    const mixed = pipeline.embed('e5', {}, ['a', 'b', 'c', 'a']);
    clock.advance(2);
    expect(await mixed).toMatchObject({ embeddings: ['a', 'b', 'c', 'a'].map(vectorFor), cached: 1, promptTokens: 2 });
    expect(upstream.calls.map((c) => c.inputs)).toEqual([['b'], ['a', 'c']]);
  });

  it('keeps models and options apart', async () => {
    const { clock, upstream, pipeline } = setup();
    const all = [
      pipeline.embed('e5', {}, ['x']),
      pipeline.embed('e5', { dimensions: 8 }, ['x']),
      pipeline.embed('bge', {}, ['x']),
      pipeline.embed('e5', {}, ['y']),
    ];
    clock.advance(2);
    await Promise.all(all);
    expect(upstream.calls.map((c) => [c.tag, c.inputs])).toEqual([
      ['e5:{}', ['x', 'y']],
      ['e5:{"dimensions":8}', ['x']],
      ['bge:{}', ['x']],
    ]);
  });

  it('coalesces identical concurrent requests into one flight', async () => {
    const { upstream, pipeline } = setup({ windowMs: 0 });
    upstream.held = true;
    const leader = pipeline.embed('e5', {}, ['q']);
    const joiner = pipeline.embed('e5', {}, ['q']);
    upstream.release();
    expect(await leader).toMatchObject({ coalesced: false, batchedWith: 1 });
    expect(await joiner).toMatchObject({ embeddings: [vectorFor('q')], coalesced: true, batchedWith: 1 });
    expect(upstream.calls).toHaveLength(1);
    expect(pipeline.stats().singleFlight).toMatchObject({ flights: 1, coalesced: 1 });
  });

  it('without single-flight, identical requests share a batch instead', async () => {
    const { clock, upstream, pipeline } = setup({ singleFlight: false });
    const both = [pipeline.embed('e5', {}, ['q']), pipeline.embed('e5', {}, ['q'])];
    clock.advance(2);
    expect((await Promise.all(both)).map((r) => [r.coalesced, r.batchedWith])).toEqual([[false, 2], [false, 2]]);
    expect(upstream.calls.map((c) => c.inputs)).toEqual([['q', 'q']]);
  });

  it('fails only the request with the bad input and caches the good ones', async () => {
    const { clock, upstream, pipeline } = setup();
    const good = pipeline.embed('e5', {}, ['a']);
    const bad = pipeline.embed('e5', {}, ['BAD']);
    clock.advance(2);
    await expect(bad).rejects.toThrow('bad input');
    expect((await good).embeddings).toEqual([vectorFor('a')]);
    expect((await pipeline.embed('e5', {}, ['a'])).cached).toBe(1);
    expect(upstream.calls).toHaveLength(3);
  });

  it('lets a caller leave after the send without disturbing the others', async () => {
    const { clock, upstream, pipeline } = setup();
    upstream.held = true;
    const gone = new AbortController();
    const leaving = pipeline.embed('e5', {}, ['a'], gone.signal);
    const staying = pipeline.embed('e5', {}, ['b']);
    clock.advance(2);
    await settle();
    gone.abort();
    await expect(leaving).rejects.toMatchObject({ name: 'AbortError' });
    upstream.release();
    expect((await staying).embeddings).toEqual([vectorFor('b')]);
    expect(upstream.calls[0].signal.aborted).toBe(false);
  });

  it('reports batching, single-flight and cache figures', async () => {
    const { clock, pipeline } = setup();
    const round = [pipeline.embed('e5', {}, ['a']), pipeline.embed('e5', {}, ['b']), pipeline.embed('e5', {}, ['a'])];
    clock.advance(2);
    await Promise.all(round);
    await pipeline.embed('e5', {}, ['a', 'b']);
    expect(pipeline.stats()).toEqual({
      batching: { batches: 1, requests: 2, batchedRequests: 2, meanBatchSize: 2, maxBatchSize: 2 },
      singleFlight: { flights: 2, coalesced: 1, inFlight: 0 },
      cache: expect.objectContaining({ hits: 2, misses: 3, entries: 2, hitRate: 0.4 }),
    });
  });
});
