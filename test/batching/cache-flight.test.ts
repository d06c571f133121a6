import { afterEach, describe, expect, it, vi } from 'vitest';
import { EmbedService } from '../../src/gateway/embed-service.js';
import { until } from '../support/records.js';
import { EMBED, NEVER, OTHER, startRig, texts, type Rig } from './rig.js';

/** Bit-for-bit equality of two lists of vectors (Object.is tells -0 from 0 and NaN from NaN). */
function bitExact(a: number[][], b: number[][]): boolean {
  return a.length === b.length && a.every((v, i) => v.length === b[i].length && v.every((x, j) => Object.is(x, b[i][j])));
}

/** The promise's outcome, with its rejection handled from the start. */
function settle<T>(p: Promise<T>): Promise<PromiseSettledResult<T>> {
  return p.then((value) => ({ status: 'fulfilled', value }), (reason: unknown) => ({ status: 'rejected', reason }));
}

describe('the embedding cache through the gateway', () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
    vi.restoreAllMocks();
  });

  it('a repeated input is answered without an upstream call, bit-exact with the first answer', async () => {
    const inputs = texts(20, 'cached');
    rig = await startRig({ window_ms: NEVER, max_inputs: inputs.length });
    const r = rig;

    const first = await Promise.all(inputs.map((input) => r.post('/api/embed', { model: EMBED, input })));
    expect(r.embedCalls()).toHaveLength(1);
    const second = await Promise.all(inputs.map((input) => r.post('/api/embed', { model: EMBED, input })));

    expect(r.embedCalls()).toHaveLength(1);
    for (const [i, reply] of second.entries()) {
      expect(reply.status).toBe(200);
      expect(bitExact(reply.body.embeddings, first[i].body.embeddings)).toBe(true);
    }
    const records = (await r.records()).filter((rec) => rec.route === '/api/embed');
    expect(records.filter((rec) => rec.cache_hit === true)).toHaveLength(20);
    expect(records.filter((rec) => rec.batched_with === 20)).toHaveLength(20);
    const { cache, batching } = (await r.status()).embeddings;
    expect(cache).toMatchObject({ hits: 20, misses: 20, entries: 20, hitRate: 0.5 });
    expect(batching).toMatchObject({ batches: 1, maxBatchSize: 20 });
  });

  it('a discovered model keeps its cached vectors when its catalog is read again (GET /api/tags)', async () => {
    const [text] = texts(1, 'listed');
    rig = await startRig({ window_ms: 0 });
    const first = await rig.post('/api/embed', { model: EMBED, input: text });
    expect((await fetch(`${rig.gw.url}/api/tags`)).status).toBe(200);
    const again = await rig.post('/api/embed', { model: EMBED, input: text });

    expect(again.body.embeddings).toEqual(first.body.embeddings);
    expect(rig.embedCalls()).toHaveLength(1);
  });

  it('the cache serves every dialect: an OpenAI caller gets the vector an Ollama caller fetched', async () => {
    const [text] = texts(1, 'shared');
    rig = await startRig({ window_ms: 0 });
    const first = await rig.post('/api/embed', { model: EMBED, input: text });
    const again = await rig.post('/v1/embeddings', { model: EMBED, input: text });

    expect(rig.embedCalls()).toHaveLength(1);
    expect(bitExact([again.body.data[0].embedding], first.body.embeddings)).toBe(true);
    expect((await rig.records())[0]).toMatchObject({ route: '/v1/embeddings', cache_hit: true });
  });

  it('a request partly in the cache sends only the missing inputs upstream', async () => {
    const inputs = texts(4, 'part');
    rig = await startRig({ window_ms: 0 });
    await rig.post('/api/embed', { model: EMBED, input: [inputs[0], inputs[2]] });
    const reply = await rig.post('/api/embed', { model: EMBED, input: inputs });

    expect(rig.embedCalls().map((c) => (c.body as { input: string[] }).input)).toEqual([[inputs[0], inputs[2]], [inputs[1], inputs[3]]]);
    expect(reply.body.embeddings).toEqual((await rig.direct('/api/embed', { model: EMBED, input: inputs })).embeddings);
    expect((await rig.records())[0].cache_hit).toBeUndefined();
  });

  it('cache: 0 disables it: the repeated inputs go upstream again and nothing is counted', async () => {
    const inputs = texts(20, 'uncached');
    rig = await startRig({ window_ms: NEVER, max_inputs: inputs.length, cache: 0 });
    const r = rig;

    await Promise.all(inputs.map((input) => r.post('/api/embed', { model: EMBED, input })));
    const second = await Promise.all(inputs.map((input) => r.post('/api/embed', { model: EMBED, input })));

    expect(r.embedCalls()).toHaveLength(2);
    for (const reply of second) expect(reply.status).toBe(200);
    expect((await r.records()).filter((rec) => rec.cache_hit)).toHaveLength(0);
    expect((await r.status()).embeddings.cache).toEqual({ kind: 'off', hits: 0, misses: 0, entries: 0, bytes: 0, hitRate: 0, errors: 0 });
  });
});

describe('batching switched off and request identity', () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
    vi.restoreAllMocks();
  });

  it('window_ms: 0 sends every request alone: upstream calls equal requests', async () => {
    const inputs = texts(20, 'solo');
    rig = await startRig({ window_ms: 0 });
    const r = rig;

    const replies = await Promise.all(inputs.map((input) => r.post('/api/embed', { model: EMBED, input })));

    for (const [i, reply] of replies.entries()) {
      expect(reply.body.embeddings).toEqual((await r.direct('/api/embed', { model: EMBED, input: inputs[i] })).embeddings);
    }
    const calls = r.embedCalls();
    expect(calls).toHaveLength(inputs.length);
    for (const c of calls) expect((c.body as { input: string[] }).input).toHaveLength(1);
    expect((await r.status()).embeddings.batching).toMatchObject({ batches: 20, requests: 20, batchedRequests: 0, maxBatchSize: 1 });
    for (const rec of await r.records()) expect(rec.batched_with).toBeUndefined();
  });

  it('requests that differ in truncate, dimensions or model are never merged, even with the same text', async () => {
    const [a, b] = texts(2, 'same');
    const groups = [
      { model: EMBED },
      { model: EMBED, truncate: true },
      { model: EMBED, truncate: false },
      { model: EMBED, dimensions: 4 },
      { model: OTHER },
    ];
    // Two requests per group fill a batch of two: any merge across groups would show as a mixed call.
    rig = await startRig({ window_ms: NEVER, max_inputs: 2 });
    const r = rig;
    const bodies = groups.flatMap((g) => [{ ...g, input: a }, { ...g, input: b }]);

    const replies = await Promise.all(bodies.map((body) => r.post('/api/embed', body)));

    for (const [i, reply] of replies.entries()) {
      expect(reply.status).toBe(200);
      expect(reply.body.embeddings).toEqual((await r.direct('/api/embed', bodies[i])).embeddings);
    }
    expect(replies[6].body.embeddings[0]).toHaveLength(4);
    expect(replies[8].body.embeddings[0]).toHaveLength(6);
    const calls = r.embedCalls().map((c) => c.body as { model: string; input: string[]; truncate?: boolean; dimensions?: number });
    expect(calls).toHaveLength(groups.length);
    const seen = calls.map((c) => {
      expect([...c.input].sort()).toEqual([a, b].sort());
      return JSON.stringify([c.model, c.truncate ?? null, c.dimensions ?? null]);
    });
    expect(seen.sort()).toEqual(groups.map((g) => JSON.stringify([g.model, g.truncate ?? null, g.dimensions ?? null])).sort());
    expect((await r.status()).embeddings.singleFlight.coalesced).toBe(0);
  });
});

describe('single-flight and disconnects through the gateway', () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
    vi.restoreAllMocks();
  });

  it('identical concurrent requests make one upstream call; the joiners are recorded as coalesced', async () => {
    const [text] = texts(1, 'popular');
    // No batching and no cache: only single-flight can save the calls.
    rig = await startRig({ window_ms: 0, cache: 0 });
    const r = rig;
    const held = r.fake.holdLoads(EMBED);
    const leader = r.post('/api/embed', { model: EMBED, input: text });
    await held;
    const joiners = Array.from({ length: 9 }, () => r.post('/api/embed', { model: EMBED, input: text }));
    await until(() => r.status(), (s) => s.embeddings.singleFlight.coalesced === 9);
    r.fake.releaseLoads(EMBED);

    const replies = await Promise.all([leader, ...joiners]);

    const expected = (await r.direct('/api/embed', { model: EMBED, input: text })).embeddings;
    for (const reply of replies) expect(reply.body.embeddings).toEqual(expected);
    expect(r.embedCalls()).toHaveLength(1);
    const records = (await r.records()).filter((rec) => rec.route === '/api/embed');
    expect(records).toHaveLength(10);
    expect(records.filter((rec) => rec.coalesced === true)).toHaveLength(9);
    expect((await r.status()).embeddings.singleFlight).toMatchObject({ flights: 1, coalesced: 9, inFlight: 0 });
  });

  it('identical requests in different dialects coalesce too, and each is rendered in its own', async () => {
    const [text] = texts(1, 'both');
    rig = await startRig({ window_ms: 0, cache: 0 });
    const r = rig;
    const held = r.fake.holdLoads(EMBED);
    const native = r.post('/api/embed', { model: EMBED, input: text });
    await held;
    const openai = r.post('/v1/embeddings', { model: EMBED, input: text, encoding_format: 'base64' });
    await until(() => r.status(), (s) => s.embeddings.singleFlight.coalesced === 1);
    r.fake.releaseLoads(EMBED);

    const [n, o] = await Promise.all([native, openai]);

    expect(r.embedCalls()).toHaveLength(1);
    expect(n.body.embeddings).toEqual((await r.direct('/api/embed', { model: EMBED, input: text })).embeddings);
    expect(o.body.data[0].embedding).toBe((await r.direct('/v1/embeddings', { model: EMBED, input: text, encoding_format: 'base64' })).data[0].embedding);
  });

  it('a caller that disconnects while its batch is upstream leaves the others served', async () => {
    const inputs = texts(10, 'leaver');
    const leaver = 4;
    rig = await startRig({ window_ms: NEVER, max_inputs: inputs.length, cache: 0 });
    const r = rig;
    const held = r.fake.holdLoads(EMBED);
    const gone = new AbortController();
    // Settled at once, so the leaver's rejection is handled while the test waits.
    const pending = inputs.map((input, i) => settle(r.post('/api/embed', { model: EMBED, input }, i === leaver ? { signal: gone.signal } : {})));
    // The batch is full, so it has been sent: it waits for the model to load.
    await held;
    gone.abort();
    await until(() => r.records(), (recs) => recs.some((rec) => rec.status === 499));
    r.fake.releaseLoads(EMBED);

    const settled = await Promise.all(pending);

    expect(settled[leaver].status).toBe('rejected');
    for (const [i, s] of settled.entries()) {
      if (i === leaver) continue;
      expect(s.status).toBe('fulfilled');
      const reply = (s as PromiseFulfilledResult<{ status: number; body: any }>).value;
      expect(reply.status).toBe(200);
      expect(reply.body.embeddings).toEqual((await r.direct('/api/embed', { model: EMBED, input: inputs[i] })).embeddings);
    }
    const calls = r.embedCalls();
    expect(calls).toHaveLength(1);
    expect(await calls[0].outcome).toBe('completed');
    const records = (await r.records()).filter((rec) => rec.route === '/api/embed');
    expect(records.map((rec) => rec.status).sort()).toEqual([...Array(9).fill(200), 499]);
  });

  it('a caller that disconnects before its batch is full leaves it, and the batch goes without it', async () => {
    const inputs = texts(4, 'early');
    // Room for three inputs: had the leaver stayed, the batch would have gone with it.
    rig = await startRig({ window_ms: NEVER, max_inputs: 3, cache: 0 });
    const r = rig;
    // The gateway runs in this process: count the requests that have reached the embedding
    // service (which joins them to the batch before it returns).
    const service = vi.spyOn(EmbedService.prototype, 'embed');
    const entered = () => service.mock.calls.length;
    const gone = new AbortController();
    const leaving = settle(r.post('/api/embed', { model: EMBED, input: inputs[0] }, { signal: gone.signal }));
    await until(async () => entered(), (n) => n === 1);
    gone.abort();
    await until(() => r.records(), (recs) => recs.some((rec) => rec.status === 499));
    const rest = inputs.slice(1).map((input) => r.post('/api/embed', { model: EMBED, input }));

    expect((await leaving).status).toBe('rejected');
    const replies = await Promise.all(rest);

    for (const reply of replies) expect(reply.status).toBe(200);
    const calls = r.embedCalls();
    expect(calls).toHaveLength(1);
    expect([...(calls[0].body as { input: string[] }).input].sort()).toEqual(inputs.slice(1).sort());
    expect((await r.status()).embeddings.batching).toMatchObject({ batches: 1, requests: 3 });
  });
});
