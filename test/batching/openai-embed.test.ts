import { afterEach, describe, expect, it } from 'vitest';
import { base64Float32 } from '../../src/dialects/embedding-vectors.js';
import { EMBED, NEVER, startRig, texts, type Rig } from './rig.js';

/**
 * Issue 6 end to end on the OpenAI dialect: `/v1/embeddings` to an Ollama backend becomes
 * native `/api/embed` calls that concurrent callers share, while each reply keeps its own
 * encoding (float or base64) and `index` order.
 */
describe('batching /v1/embeddings through the gateway', () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('float and base64 callers share one upstream call and each gets its own encoding, vectors and indexes', async () => {
    const pool = texts(100, 'doc');
    let next = 0;
    const bodies = Array.from({ length: 40 }, (_, i): { model: string; input: string | string[]; encoding_format?: 'float' | 'base64' } => {
      const input = pool.slice(next, (next += (i % 3) + 1));
      return {
        model: EMBED,
        // A bare string for some single inputs (DocsGPT's queries), an array otherwise.
        input: input.length === 1 && i % 2 === 0 ? input[0] : input,
        // base64, explicit float, and no format at all (float) side by side.
        ...(i % 2 === 0 ? { encoding_format: 'base64' as const } : i % 4 === 1 ? { encoding_format: 'float' as const } : {}),
      };
    });
    rig = await startRig({ window_ms: NEVER, max_inputs: next });
    const r = rig;

    const replies = await Promise.all(bodies.map((body) => r.post('/v1/embeddings', body)));

    for (const [i, reply] of replies.entries()) {
      const body = bodies[i];
      const count = typeof body.input === 'string' ? 1 : body.input.length;
      expect(reply.status).toBe(200);
      expect(reply.body.object).toBe('list');
      expect(reply.body.data.map((d: { index: number }) => d.index)).toEqual(Array.from({ length: count }, (_, k) => k));
      const expected = await r.direct('/v1/embeddings', body);
      expect(reply.body.data.map((d: { embedding: unknown }) => d.embedding)).toEqual(expected.data.map((d: { embedding: unknown }) => d.embedding));
      for (const d of reply.body.data as Array<{ embedding: unknown }>) {
        if (body.encoding_format === 'base64') {
          expect(typeof d.embedding).toBe('string');
          expect(base64Float32(d.embedding as string)).toHaveLength(8);
        } else {
          expect(d.embedding).toHaveLength(8);
        }
      }
    }
    const calls = r.embedCalls();
    expect(calls.length).toBeLessThan(bodies.length);
    expect(calls).toHaveLength(1);
    expect((calls[0].body as { input: string[] }).input).toHaveLength(next);
    const records = (await r.records()).filter((rec) => rec.route === '/v1/embeddings');
    expect(records).toHaveLength(40);
    for (const rec of records) expect(rec.batched_with).toBe(40);
  });

  it('base64 vectors are the little-endian float32 of the float vectors the same batch returns', async () => {
    const [text] = texts(1, 'same-text');
    rig = await startRig({ window_ms: NEVER, max_inputs: 2, single_flight: false, cache: 0 });
    const r = rig;

    const [asFloat, asBase64] = await Promise.all([
      r.post('/v1/embeddings', { model: EMBED, input: [text], encoding_format: 'float' }),
      r.post('/v1/embeddings', { model: EMBED, input: [text], encoding_format: 'base64' }),
    ]);

    expect(r.embedCalls()).toHaveLength(1);
    expect((r.embedCalls()[0].body as { input: string[] }).input).toEqual([text, text]);
    const floats = asFloat.body.data[0].embedding as number[];
    expect(base64Float32(asBase64.body.data[0].embedding)).toEqual(floats.map((x) => Math.fround(x)));
  });

  it('OpenAI and Ollama callers of the same model and options share one upstream call', async () => {
    const inputs = texts(6, 'mixed');
    rig = await startRig({ window_ms: NEVER, max_inputs: inputs.length });
    const r = rig;

    const replies = await Promise.all(inputs.map((input, i) => (i % 2 === 0
      ? r.post('/v1/embeddings', { model: EMBED, input })
      : r.post('/api/embed', { model: EMBED, input }))));

    expect(r.embedCalls()).toHaveLength(1);
    for (const [i, reply] of replies.entries()) {
      const expected = (await r.direct('/api/embed', { model: EMBED, input: inputs[i] })).embeddings[0];
      expect(i % 2 === 0 ? reply.body.data[0].embedding : reply.body.embeddings[0]).toEqual(expected);
    }
  });
});
