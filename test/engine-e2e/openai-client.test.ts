import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHAT, EMB, startEngineGateway, type EngineHarness } from './engine-harness.js';
import { latestRecord } from '../support/records.js';

/**
 * The openai SDK (6.x) against REAL inference: the gateway's `/v1` surface in front of two
 * generated GGUF models on the embedded node-llama-cpp worker. Greedy, a few tokens.
 */
const MAX_TOKENS = 8;

describe('the openai@6 SDK against the embedded engine', () => {
  let h: EngineHarness;
  let client: OpenAI;

  beforeAll(async () => {
    h = await startEngineGateway();
    client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'sk-no-key', maxRetries: 0 });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('answers a non-streamed chat with generated text, a finish reason and token usage', async () => {
    const reply = await client.chat.completions.create({
      model: CHAT, messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello there' }], max_completion_tokens: MAX_TOKENS, temperature: 0,
    });
    expect(reply.object).toBe('chat.completion');
    expect(reply.model).toBe(CHAT);
    expect(reply.choices).toHaveLength(1);
    expect(reply.choices[0].message.role).toBe('assistant');
    expect(reply.choices[0].message.content?.length).toBeGreaterThan(0);
    expect(['stop', 'length']).toContain(reply.choices[0].finish_reason);
    const usage = reply.usage!;
    expect(usage.prompt_tokens).toBeGreaterThan(0);
    expect(usage.completion_tokens).toBeGreaterThan(0);
    expect(usage.completion_tokens).toBeLessThanOrEqual(MAX_TOKENS);
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
    expect(await latestRecord(h.url, '/v1/chat/completions')).toMatchObject({ model: CHAT, status: 200, stream: false, gen_tokens: usage.completion_tokens });
  });

  it('streams a chat with include_usage: text deltas, one finish reason, then a usage-only chunk', async () => {
    const stream = await client.chat.completions.create({
      model: CHAT, messages: [{ role: 'user', content: 'stream this answer' }], max_tokens: MAX_TOKENS, temperature: 0,
      stream: true, stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);

    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === CHAT)).toBe(true);
    expect(chunks.flatMap((c) => c.choices.map((ch) => ch.delta.content ?? '')).join('').length).toBeGreaterThan(0);
    const reasons = chunks.flatMap((c) => c.choices.map((ch) => ch.finish_reason)).filter(Boolean);
    expect(reasons).toHaveLength(1);
    expect(['stop', 'length']).toContain(reasons[0]);
    const last = chunks[chunks.length - 1];
    expect(last.choices).toEqual([]);
    expect(last.usage!.completion_tokens).toBeGreaterThan(0);
    expect(last.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(last.usage!.total_tokens).toBe(last.usage!.prompt_tokens + last.usage!.completion_tokens);
    expect(chunks.slice(0, -1).every((c) => !c.usage)).toBe(true);
  });

  it('streams a chat without include_usage: no usage chunk at all', async () => {
    const stream = await client.chat.completions.create({
      model: CHAT, messages: [{ role: 'user', content: 'no usage please' }], max_tokens: MAX_TOKENS, temperature: 0, stream: true,
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.every((c) => !c.usage && c.choices.length === 1)).toBe(true);
    expect(chunks.at(-1)!.choices[0].finish_reason).toMatch(/^(stop|length)$/);
  });

  it('answers a legacy completion with generated text and usage', async () => {
    const reply = await client.completions.create({ model: CHAT, prompt: 'once upon a time', max_tokens: MAX_TOKENS, temperature: 0 });
    expect(reply.object).toBe('text_completion');
    expect(reply.choices).toHaveLength(1);
    expect(reply.choices[0].text.length).toBeGreaterThan(0);
    expect(['stop', 'length']).toContain(reply.choices[0].finish_reason);
    expect(reply.usage!.completion_tokens).toBeGreaterThan(0);
    expect(reply.usage!.completion_tokens).toBeLessThanOrEqual(MAX_TOKENS);
    expect(await latestRecord(h.url, '/v1/completions')).toMatchObject({ model: CHAT, status: 200 });
  });

  it('embeds without encoding_format (base64 decoded by the SDK) into vectors as wide as the GGUF says', async () => {
    const reply = await client.embeddings.create({ model: EMB, input: 'what is warmgate' });
    expect(reply.object).toBe('list');
    expect(reply.data).toHaveLength(1);
    expect(reply.data[0].embedding).toHaveLength(h.emb.info.embeddingLength!);
    expect(reply.data[0].embedding.every(Number.isFinite)).toBe(true);
    expect(reply.usage.prompt_tokens).toBeGreaterThan(0);
    expect(await latestRecord(h.url, '/v1/embeddings')).toMatchObject({ model: EMB, status: 200 });
  });

  it('embeds with encoding_format float into the same vectors, one per input in order', async () => {
    const inputs = ['what is warmgate', 'a second, different input'];
    const floats = await client.embeddings.create({ model: EMB, input: inputs, encoding_format: 'float' });
    expect(floats.data.map((d) => d.index)).toEqual([0, 1]);
    for (const d of floats.data) expect(d.embedding).toHaveLength(h.emb.info.embeddingLength!);
    expect(floats.data[0].embedding).not.toEqual(floats.data[1].embedding);

    // base64 carries float32: the decoded vector is the float one rounded to float32.
    const decoded = await client.embeddings.create({ model: EMB, input: inputs[0] });
    decoded.data[0].embedding.forEach((x, i) => expect(x).toBeCloseTo(floats.data[0].embedding[i], 5));
  });

  it('lists both models', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids.sort()).toEqual([`${CHAT}:latest`, `${EMB}:latest`]);
    const one = await client.models.retrieve(CHAT);
    expect(one).toMatchObject({ id: `${CHAT}:latest`, object: 'model' });
  });
});
