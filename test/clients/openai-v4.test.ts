import OpenAI from 'openai-v4';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHAT, EMBED, EMBED_DIMS, echo, expectRecord, startHarness, upstreamEmbed, type ClientHarness } from './client-harness.js';
import { requestRecords } from '../support/records.js';

/**
 * openai@4.95.1 (AnythingLLM's pin, and its Generic-OpenAI provider) against the gateway's
 * `/v1` surface, in front of the scripted Ollama daemon.
 */
describe('the openai@4 SDK through the gateway', () => {
  let h: ClientHarness;
  let client: OpenAI;

  beforeAll(async () => {
    h = await startHarness();
    // AnythingLLM sends `Authorization: Bearer null` when no key is configured.
    client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'null', maxRetries: 0 });
  });

  afterEach(() => {
    h.upstream.errorMidStream = undefined;
  });

  afterAll(async () => {
    await h?.close();
  });

  describe('chat completions', () => {
    it('answers a non-streamed chat with the reply, finish_reason and usage', async () => {
      const reply = await client.chat.completions.create({ model: CHAT, messages: [{ role: 'user', content: 'hello there' }] });
      expect(reply.object).toBe('chat.completion');
      expect(reply.model).toBe(CHAT);
      expect(reply.choices[0].message).toMatchObject({ role: 'assistant', content: echo('hello there') });
      expect(reply.choices[0].finish_reason).toBe('stop');
      expect(reply.usage).toEqual({ prompt_tokens: 2, completion_tokens: 4, total_tokens: 6 });
      const record = await expectRecord(h.url, '/v1/chat/completions', CHAT);
      expect(record.stream).toBe(false);
    });

    it('streams deltas and, with stream_options.include_usage, ends with a usage chunk that has no choices', async () => {
      const stream = await client.chat.completions.create({
        model: CHAT, messages: [{ role: 'user', content: 'stream this answer' }], stream: true, stream_options: { include_usage: true },
      });
      const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
      for await (const chunk of stream) chunks.push(chunk);

      const text = chunks.flatMap((c) => c.choices.map((ch) => ch.delta.content ?? '')).join('');
      expect(text).toBe(echo('stream this answer'));
      expect(chunks.flatMap((c) => c.choices.map((ch) => ch.finish_reason)).filter(Boolean)).toEqual(['stop']);
      const usageChunks = chunks.filter((c) => c.usage);
      expect(usageChunks).toHaveLength(1);
      expect(usageChunks[0]).toBe(chunks[chunks.length - 1]);
      expect(usageChunks[0].choices).toEqual([]);
      expect(usageChunks[0].usage).toEqual({ prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 });

      const records = await requestRecords(h.url);
      expect(records.find((r) => r.route === '/v1/chat/completions' && r.stream)).toMatchObject({ model: CHAT, status: 200 });
    });

    it('streams without a usage chunk when include_usage is not asked for', async () => {
      const stream = await client.chat.completions.create({ model: CHAT, messages: [{ role: 'user', content: 'no usage please' }], stream: true });
      const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
      for await (const chunk of stream) chunks.push(chunk);
      expect(chunks.some((c) => c.usage)).toBe(false);
      expect(chunks.flatMap((c) => c.choices.map((ch) => ch.delta.content ?? '')).join('')).toBe(echo('no usage please'));
    });
  });

  describe('completions', () => {
    it('answers a legacy completion with the text', async () => {
      const reply = await client.completions.create({ model: CHAT, prompt: 'once upon a time' });
      expect(reply.object).toBe('text_completion');
      expect(reply.choices[0]).toMatchObject({ text: echo('once upon a time'), finish_reason: 'stop' });
      await expectRecord(h.url, '/v1/completions', CHAT);
    });

    it('stops at max_tokens with finish_reason length', async () => {
      const reply = await client.completions.create({ model: CHAT, prompt: 'tell me a long story', max_tokens: 2 });
      expect(reply.choices[0]).toMatchObject({ text: 'You said:', finish_reason: 'length' });
      expect(reply.usage?.completion_tokens).toBe(2);
    });
  });

  describe('embeddings', () => {
    it('without encoding_format (the SDK asks for base64 and decodes) yields full-length vectors equal to the daemon\'s floats', async () => {
      const input = ['chunk one', 'chunk two', 'chunk three'];
      const reply = await client.embeddings.create({ model: EMBED, input });
      expect(reply.data).toHaveLength(3);
      expect(reply.data.map((d) => d.index)).toEqual([0, 1, 2]);
      for (const d of reply.data) expect(d.embedding).toHaveLength(EMBED_DIMS);
      const direct = await upstreamEmbed(h.upstream, input);
      // Decoded from little-endian float32: the daemon's values rounded to float32, exactly.
      expect(reply.data.map((d) => d.embedding)).toEqual(direct.map((v) => v.map(Math.fround)));

      const sent = await requestRecords(h.url);
      expect(sent.find((r) => r.route === '/v1/embeddings')).toMatchObject({ model: EMBED, status: 200 });
    });

    it('with encoding_format float returns the daemon\'s floats unchanged', async () => {
      const reply = await client.embeddings.create({ model: EMBED, input: 'a bare string query', encoding_format: 'float' });
      expect(reply.data).toHaveLength(1);
      expect(reply.data[0].embedding).toEqual((await upstreamEmbed(h.upstream, ['a bare string query']))[0]);
      expect(reply.model).toBe(EMBED);
      expect(reply.usage.prompt_tokens).toBeGreaterThan(0);
      await expectRecord(h.url, '/v1/embeddings', EMBED);
    });
  });

  describe('models', () => {
    it('lists both models by their gateway names', async () => {
      const page = await client.models.list();
      expect(page.data.map((m) => m.id)).toEqual(expect.arrayContaining([CHAT, EMBED]));
      for (const m of page.data) expect(m.object).toBe('model');
    });
  });

  describe('errors', () => {
    it('throws NotFoundError (404) for an unknown model on chat and on embeddings', async () => {
      const chat = client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] });
      await expect(chat).rejects.toBeInstanceOf(OpenAI.NotFoundError);
      await expect(chat).rejects.toMatchObject({ status: 404 });
      await expect(client.embeddings.create({ model: 'no-such-embedder', input: 'x' })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
      const records = await requestRecords(h.url);
      expect(records.find((r) => r.route === '/v1/chat/completions' && r.status === 404)).toBeDefined();
    });

    it('throws BadRequestError (400) for a chat whose messages are not a list', async () => {
      const bad = client.chat.completions.create({ model: CHAT, messages: 'not a list' as never });
      await expect(bad).rejects.toBeInstanceOf(OpenAI.BadRequestError);
      await expect(bad).rejects.toMatchObject({ status: 400, type: 'invalid_request_error' });
    });

    it('throws an APIError while iterating when the daemon fails mid-stream after some deltas', async () => {
      h.upstream.errorMidStream = { afterChunks: 2, message: 'llama runner process has terminated' };
      const stream = await client.chat.completions.create({ model: CHAT, messages: [{ role: 'user', content: 'this will break midway' }], stream: true });
      const seen: string[] = [];
      const read = (async () => {
        for await (const chunk of stream) seen.push(...chunk.choices.map((c) => c.delta.content ?? ''));
      })();
      await expect(read).rejects.toBeInstanceOf(OpenAI.APIError);
      await expect(read).rejects.toThrow(/llama runner process has terminated/);
      expect(seen.join('')).toBe('You said:');
    });

    it('throws BadRequestError (400) for an unknown encoding_format', async () => {
      await expect(client.embeddings.create({ model: EMBED, input: 'x', encoding_format: 'int8' as never })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    });
  });
});
