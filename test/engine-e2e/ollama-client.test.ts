import { Ollama, type ChatResponse, type GenerateResponse } from 'ollama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parameterSize } from '../../src/backends/process/model-card.js';
import { CHAT, CHAT_CTX, EMB, startEngineGateway, type EngineHarness } from './engine-harness.js';
import { latestRecord } from '../support/records.js';

/**
 * The `ollama` npm client (0.6.x) against REAL inference: the gateway serving two generated
 * GGUF models on the embedded node-llama-cpp worker. Greedy sampling with a few tokens.
 */
const OPTIONS = { num_predict: 8, temperature: 0 };

/** Ollama's done metrics: counts, and nanosecond durations that add up plausibly. */
function expectDoneMetrics(done: ChatResponse | GenerateResponse): void {
  expect(done.done).toBe(true);
  expect(['stop', 'length']).toContain(done.done_reason);
  expect(done.prompt_eval_count).toBeGreaterThan(0);
  expect(done.eval_count).toBeGreaterThan(0);
  expect(done.eval_count).toBeLessThanOrEqual(OPTIONS.num_predict);
  expect(done.eval_duration).toBeGreaterThan(0);
  expect(done.prompt_eval_duration).toBeGreaterThan(0);
  expect(done.total_duration).toBeGreaterThan(done.eval_duration);
  // Nanoseconds, not milliseconds: 8 tokens of a tiny model take well over 1 µs each, and well under a minute.
  expect(done.eval_duration / done.eval_count).toBeGreaterThan(1_000);
  expect(done.total_duration).toBeLessThan(60e9);
}

describe('the ollama npm client against the embedded engine', () => {
  let h: EngineHarness;
  let ollama: Ollama;

  beforeAll(async () => {
    h = await startEngineGateway();
    ollama = new Ollama({ host: h.url });
  });

  afterAll(async () => {
    await h?.close();
  });

  describe('chat', () => {
    it('answers a non-streamed chat with generated text and Ollama done metrics', async () => {
      const reply = await ollama.chat({ model: CHAT, messages: [{ role: 'user', content: 'hello there' }], stream: false, options: OPTIONS });
      expect(reply.model).toBe(CHAT);
      expect(reply.message.role).toBe('assistant');
      expect(reply.message.content.length).toBeGreaterThan(0);
      expectDoneMetrics(reply);

      const record = await latestRecord(h.url, '/api/chat');
      expect(record).toMatchObject({ model: CHAT, backend: 'embedded', status: 200, stream: false, gen_tokens: reply.eval_count, prompt_tokens: reply.prompt_eval_count });
    });

    it('streams a chat as several parts whose last is the done object with the metrics', async () => {
      const stream = await ollama.chat({ model: CHAT, messages: [{ role: 'user', content: 'stream me a reply' }], stream: true, options: OPTIONS });
      const parts: ChatResponse[] = [];
      for await (const part of stream) parts.push(part);

      expect(parts.length).toBeGreaterThan(1);
      expect(parts.slice(0, -1).every((p) => p.done === false)).toBe(true);
      expect(parts.map((p) => p.message.content).join('').length).toBeGreaterThan(0);
      const done = parts[parts.length - 1];
      expect(done.model).toBe(CHAT);
      expectDoneMetrics(done);

      const record = await latestRecord(h.url, '/api/chat');
      expect(record).toMatchObject({ model: CHAT, status: 200, stream: true, gen_tokens: done.eval_count });
      expect(record.error).toBeUndefined();
    });
  });

  describe('generate', () => {
    it('generates a completion, non-streamed and streamed, with done metrics', async () => {
      const whole = await ollama.generate({ model: CHAT, prompt: 'why is the sky blue', stream: false, options: OPTIONS });
      expect(whole.response?.length).toBeGreaterThan(0);
      expectDoneMetrics(whole);

      const stream = await ollama.generate({ model: CHAT, prompt: 'count to three', stream: true, options: OPTIONS });
      const parts: GenerateResponse[] = [];
      for await (const part of stream) parts.push(part);
      expect(parts.map((p) => p.response ?? '').join('').length).toBeGreaterThan(0);
      expectDoneMetrics(parts[parts.length - 1]);
      expect(await latestRecord(h.url, '/api/generate')).toMatchObject({ model: CHAT, status: 200, stream: true });
    });
  });

  describe('embed', () => {
    it('embeds a single string into one vector as wide as the GGUF\'s embedding length', async () => {
      const reply = await ollama.embed({ model: EMB, input: 'the quick brown fox' });
      expect(reply.model).toBe(EMB);
      expect(reply.embeddings).toHaveLength(1);
      expect(reply.embeddings[0]).toHaveLength(h.emb.info.embeddingLength!);
      expect(reply.embeddings[0].every(Number.isFinite)).toBe(true);
      expect(reply.embeddings[0].some((x) => x !== 0)).toBe(true);
      expect(await latestRecord(h.url, '/api/embed')).toMatchObject({ model: EMB, backend: 'embedded', status: 200 });
    });

    it('embeds an array into one vector per input, distinct inputs giving distinct vectors', async () => {
      const reply = await ollama.embed({ model: EMB, input: ['first chunk', 'second chunk about something else', 'third'] });
      expect(reply.embeddings).toHaveLength(3);
      for (const v of reply.embeddings) expect(v).toHaveLength(h.emb.info.embeddingLength!);
      expect(reply.embeddings[0]).not.toEqual(reply.embeddings[1]);
      // The same input embedded alone gives the same vector (up to float noise).
      const [alone] = (await ollama.embed({ model: EMB, input: 'third' })).embeddings;
      alone.forEach((x, i) => expect(x).toBeCloseTo(reply.embeddings[2][i], 4));
    });
  });

  describe('catalog', () => {
    it('lists both models with the size, family, parameter size and quantization their GGUFs say', async () => {
      const { models } = await ollama.list();
      // Tagged as Ollama lists its own.
      const byName = new Map(models.map((m) => [m.name.replace(/:latest$/, ''), m]));
      expect(models.map((m) => m.name).sort()).toEqual([`${CHAT}:latest`, `${EMB}:latest`]);
      for (const [name, model] of [[CHAT, h.chat], [EMB, h.emb]] as const) {
        const listed = byName.get(name)!;
        expect(listed.size).toBe(model.info.sizeBytes);
        expect(listed.details).toMatchObject({
          format: 'gguf',
          family: model.info.family,
          parameter_size: parameterSize(model.info.parameterCount),
          quantization_level: model.info.quantization,
        });
      }
      // The generated models are F16 llamas of a few million parameters.
      expect(byName.get(CHAT)!.details).toMatchObject({ family: 'llama', quantization_level: 'F16', parameter_size: expect.stringMatching(/^\d+M$/) });
    });

    it('shows capabilities and the GGUF\'s context length for each model', async () => {
      const [chat, emb] = await Promise.all([ollama.show({ model: CHAT }), ollama.show({ model: EMB })]);
      expect(chat.capabilities).toEqual(['completion']);
      expect(emb.capabilities).toEqual(['embedding']);
      const chatInfo = chat.model_info as unknown as Record<string, unknown>;
      const embInfo = emb.model_info as unknown as Record<string, unknown>;
      expect(chatInfo['llama.context_length']).toBe(h.chat.info.contextLength);
      expect(embInfo['llama.context_length']).toBe(h.emb.info.contextLength);
      expect(embInfo['llama.embedding_length']).toBe(h.emb.info.embeddingLength);
      expect(chat.details).toMatchObject({ family: 'llama', quantization_level: 'F16' });
    });

    it('ps lists the loaded models with a parseable expires_at, a size and the configured context', async () => {
      await ollama.generate({ model: CHAT, prompt: 'warm', stream: false, options: OPTIONS });
      await ollama.embed({ model: EMB, input: 'warm' });
      const { models } = await ollama.ps();
      expect(models.map((m) => m.name).sort()).toEqual([`${CHAT}:latest`, `${EMB}:latest`]);
      for (const m of models) {
        expect(m.size).toBeGreaterThan(0);
        expect(Number.isNaN(new Date(m.expires_at).getTime())).toBe(false);
        expect(m.details.format).toBe('gguf');
      }
      const chat = models.find((m) => m.name === `${CHAT}:latest`) as unknown as { context_length: number };
      expect(chat.context_length).toBe(CHAT_CTX);
    });
  });
});
