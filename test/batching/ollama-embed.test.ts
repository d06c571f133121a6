import { afterEach, describe, expect, it, vi } from 'vitest';
import { EmbedService } from '../../src/gateway/embed-service.js';
import { until } from '../support/records.js';
import { containsRun, EMBED, NEVER, startRig, texts, type Rig } from './rig.js';

/**
 * Issue 6 end to end on the Ollama dialect: concurrent `/api/embed` requests through the
 * gateway share upstream calls, and each caller still gets exactly its own vectors.
 */
describe('batching /api/embed through the gateway', () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
    vi.restoreAllMocks();
  });

  it('40 concurrent single-string requests each get their own vector from ONE upstream call', async () => {
    const inputs = texts(40);
    rig = await startRig({ window_ms: NEVER, max_inputs: inputs.length });
    const r = rig;

    const replies = await Promise.all(inputs.map((input) => r.post('/api/embed', { model: EMBED, input })));

    for (const [i, reply] of replies.entries()) {
      expect(reply.status).toBe(200);
      const expected = await r.direct('/api/embed', { model: EMBED, input: inputs[i] });
      expect(reply.body.embeddings).toEqual(expected.embeddings);
      expect(reply.body.model).toBe(EMBED);
    }
    const calls = r.embedCalls();
    expect(calls.length).toBeLessThan(inputs.length);
    expect(calls).toHaveLength(1);
    expect([...(calls[0].body as { input: string[] }).input].sort()).toEqual([...inputs].sort());

    const records = (await r.records()).filter((rec) => rec.route === '/api/embed');
    expect(records).toHaveLength(40);
    for (const rec of records) expect(rec.batched_with).toBe(40);
    const { batching } = (await r.status()).embeddings;
    expect(batching).toMatchObject({ batches: 1, requests: 40, batchedRequests: 40, maxBatchSize: 40, meanBatchSize: 40 });
  });

  it('concurrent array inputs stay whole and in order inside the shared call, and come back in order', async () => {
    const pool = texts(100, 'chunk');
    let next = 0;
    const bodies = Array.from({ length: 40 }, (_, i) => ({ model: EMBED, input: pool.slice(next, (next += (i % 4) + 1)) }));
    rig = await startRig({ window_ms: NEVER, max_inputs: next });
    const r = rig;

    const replies = await Promise.all(bodies.map((body) => r.post('/api/embed', body)));

    for (const [i, reply] of replies.entries()) {
      expect(reply.status).toBe(200);
      expect(reply.body.embeddings).toHaveLength(bodies[i].input.length);
      expect(reply.body.embeddings).toEqual((await r.direct('/api/embed', bodies[i])).embeddings);
    }
    const calls = r.embedCalls();
    expect(calls).toHaveLength(1);
    const sent = (calls[0].body as { input: string[] }).input;
    expect(sent).toHaveLength(next);
    for (const body of bodies) expect(containsRun(sent, body.input)).toBe(true);
    // Prompt tokens are split among the callers and add up to what the daemon counted.
    const counted = replies.reduce((sum, reply) => sum + (reply.body.prompt_eval_count ?? 0), 0);
    expect(counted).toBe(sent.reduce((n, t) => n + t.split(/\s+/).length, 0));
  });

  it('legacy /api/embeddings is not batched: each prompt passes through and gets the daemon\'s raw vector', async () => {
    const prompts = texts(10, 'legacy');
    rig = await startRig({ window_ms: NEVER, max_inputs: prompts.length });
    const r = rig;

    const replies = await Promise.all(prompts.map((prompt) => r.post('/api/embeddings', { model: EMBED, prompt })));

    for (const [i, reply] of replies.entries()) {
      expect(reply.status).toBe(200);
      const expected = await r.direct('/api/embeddings', { model: EMBED, prompt: prompts[i] });
      expect(reply.body).toEqual({ embedding: expected.embedding });
      // Raw, as only the daemon's own legacy endpoint gives it: not normalised.
      const norm = Math.hypot(...(reply.body.embedding as number[]));
      expect(Math.abs(norm - 1)).toBeGreaterThan(1e-3);
    }
    expect(r.gatewayCalls('/api/embeddings')).toHaveLength(prompts.length);
    expect(r.embedCalls()).toHaveLength(0);
    for (const rec of (await r.records()).filter((x) => x.route === '/api/embeddings')) expect(rec.batched_with).toBeUndefined();
  });

  it('one input the daemon rejects fails only its own request; the rest of the batch is served', async () => {
    // The daemon refuses an input longer than num_ctx when truncate is false.
    const numCtx = 8;
    const inputs = texts(10, 'ok').map((t) => t.split(' ').slice(0, 6).join(' '));
    const bad = 3;
    inputs[bad] = Array.from({ length: 20 }, (_, i) => `word${i}`).join(' ');
    rig = await startRig({ window_ms: NEVER, max_inputs: inputs.length }, { [EMBED]: { pin: { num_ctx: numCtx } } });
    const r = rig;

    const replies = await Promise.all(inputs.map((input) => r.post('/api/embed', { model: EMBED, input, truncate: false })));

    for (const [i, reply] of replies.entries()) {
      if (i === bad) {
        expect(reply.status).toBe(400);
        expect(reply.body).toEqual({ error: 'input length exceeds maximum context length' });
        continue;
      }
      expect(reply.status).toBe(200);
      const expected = await r.direct('/api/embed', { model: EMBED, input: inputs[i], truncate: false, options: { num_ctx: numCtx } });
      expect(reply.body.embeddings).toEqual(expected.embeddings);
    }
    // The shared call failed, then every request was retried alone.
    const calls = r.embedCalls().map((c) => (c.body as { input: string[] }).input);
    expect(calls[0]).toHaveLength(inputs.length);
    expect(calls.slice(1).map((input) => input.length)).toEqual(inputs.map(() => 1));
    for (const c of r.embedCalls()) expect(c.body).toMatchObject({ truncate: false, options: { num_ctx: numCtx } });
  });
});

describe('requests pile up into a batch while the model is busy', () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
    vi.restoreAllMocks();
  });

  it('with the default 2 ms window, 40 requests that arrive while the first call waits for the model go up in one more call', async () => {
    const inputs = texts(40, 'burst');
    // Default window (2 ms); the model serves one call at a time (parallel: 1).
    rig = await startRig({}, { [EMBED]: { parallel: 1 } });
    const r = rig;
    // The gateway runs in this process: count the requests that have reached the embedding
    // service (it joins each to a batch before it returns).
    const service = vi.spyOn(EmbedService.prototype, 'embed');
    const entered = () => service.mock.calls.length;
    const loading = r.fake.holdLoads(EMBED);

    const replies = inputs.map((input) => r.post('/api/embed', { model: EMBED, input }));
    await loading;
    await until(async () => entered(), (n) => n === inputs.length);
    r.fake.releaseLoads(EMBED);

    for (const [i, reply] of (await Promise.all(replies)).entries()) {
      expect(reply.status).toBe(200);
      expect(reply.body.embeddings).toEqual((await r.direct('/api/embed', { model: EMBED, input: inputs[i] })).embeddings);
    }
    // The first window's batch went to the model and waited for it to load; everything that
    // arrived meanwhile gathered into ONE batch instead of queueing as one batch per window.
    const calls = r.embedCalls();
    expect(calls.length).toBeLessThanOrEqual(2);
    expect(calls.flatMap((c) => (c.body as { input: string[] }).input).sort()).toEqual([...inputs].sort());
  });
});
